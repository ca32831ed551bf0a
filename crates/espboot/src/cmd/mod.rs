//! One module per tool. Each owns its clap arguments and a `run` function
//! that calls into the libraries; no algorithm lives here.

pub mod demo;
pub mod efuse;
pub mod image;
pub mod key_file;
pub mod links;
pub mod secure;
pub mod sim;
