//! The MCUboot-compatible boot state machine: `no_std`, no allocator.
#![no_std]
