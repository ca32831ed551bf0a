//! Image makers: what a scenario's images look like ([`ImageSpec`]) and
//! who signs them (imgtool in the CLI's tests, or [`OwnMaker`]).

use std::collections::HashMap;
use std::sync::Mutex;

use super::error::MakeError;

/// What an image looks like; the maker turns it into signed bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// Seed of the pseudo-random payload.
    pub seed: u32,
    /// Payload length (the header is 32 bytes on top, `-H 32 --pad-header`).
    pub payload_len: u32,
    /// `maj.min.rev+build`.
    pub version: String,
    /// `-s`.
    pub security_counter: Option<u32>,
    /// `-d (image, version)`.
    pub dependencies: Vec<(u8, String)>,
}

impl ImageSpec {
    /// A plain image.
    pub fn new(seed: u32, payload_len: u32, version: &str) -> Self {
        Self {
            seed,
            payload_len,
            version: version.to_string(),
            security_counter: None,
            dependencies: Vec::new(),
        }
    }

    /// The payload bytes (deterministic in `seed`).
    pub fn payload(&self) -> Vec<u8> {
        let mut x = u64::from(self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..self.payload_len)
            .map(|_| {
                // xorshift64: cheap, deterministic filler.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }
}

/// Builds signed images (hash-only, `-H 32 --pad-header`, unpadded: the
/// scenarios write trailers themselves like MCUboot's sim does).
pub trait ImageMaker: Sync {
    /// Name for labels (`imgtool`, `espboot`).
    fn name(&self) -> &str;
    /// The image bytes for `spec`.
    ///
    /// # Errors
    /// Whatever the maker reports (boxed: makers run tools or libraries of
    /// their own).
    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, MakeError>;
}

/// Caches another maker's images.
pub struct CachedMaker<M> {
    inner: M,
    cache: Mutex<HashMap<ImageSpec, Vec<u8>>>,
}

impl<M: ImageMaker> CachedMaker<M> {
    /// A cache in front of `inner`.
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<M: ImageMaker> ImageMaker for CachedMaker<M> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, MakeError> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(spec).cloned()) {
            return Ok(hit);
        }
        let bytes = self.inner.make(spec)?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(spec.clone(), bytes.clone());
        }
        Ok(bytes)
    }
}
/// Images built by our own image crate (`mcuboot_image::sign`), with the
/// options `imgtool sign -v V -H 32 --pad-header [-s N] [-d ...]` would use.
pub struct OwnMaker;

impl ImageMaker for OwnMaker {
    fn name(&self) -> &str {
        "espboot"
    }

    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, MakeError> {
        use mcuboot_image::sign::{ImageBuilder, SecurityCounter, SignOptions};
        let parse = |v: &str| v.parse::<mcuboot_image::ImageVersion>();
        let mut opts = SignOptions::new(parse(&spec.version)?, 32, 0x100_0000);
        opts.pad_header = true;
        opts.security_counter = spec.security_counter.map(SecurityCounter::Value);
        for (id, v) in &spec.dependencies {
            opts.dependencies.push(mcuboot_image::Dependency {
                image_id: *id,
                version: parse(v)?,
            });
        }
        ImageBuilder::new(&opts)
            .to_vec(spec.payload())
            .map_err(MakeError::from)
    }
}
