//! espboot against the pinned reference tools (imgtool 2.5.0, espsecure and
//! espefuse 5.6.0, esptool 5.6.0): deterministic outputs byte-identical,
//! randomized ones cross-verified both ways. A missing tool fails these
//! tests; `ESPBOOT_SKIP_INTEROP=1` skips them on purpose.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod connection;
mod efuse;
mod efuse_port;
mod efuse_tables;
mod esp_image;
mod espefuse_personality;
mod espefuse_reading;
mod espefuse_token;
mod espefuse_user_fields;
mod espsecure_personality;
mod esptool_host;
mod flash_twin;
mod help_layout;
mod hostile;
mod hsm;
mod image;
mod image_encryption;
mod imgtool_personality;
mod provision;
mod python_base64;
mod python_shims;
mod python_text;
mod recover;
mod secure_flash_encryption;
mod secure_sbv2;
mod seeds;
mod serial_client;
mod serve;
mod tool_server;
