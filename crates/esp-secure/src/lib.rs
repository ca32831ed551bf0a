//! Espressif host security: Secure Boot V2 signature blocks and flash
//! encryption, byte-compatible with espsecure.
