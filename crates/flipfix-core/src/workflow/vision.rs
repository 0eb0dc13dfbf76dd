//! `vision:` in the context menu, validated: whether the conversation's
//! photos are sent to the model, how many and how large.

use std::path::Path;

use super::schema::VisionDecl;
use super::{Problem, Problems};

/// Images per analysis when `max_images` is not given.
pub(crate) const DEFAULT_MAX_IMAGES: usize = 4;
/// The Messages API accepts up to 100 images a request, but each costs up
/// to ~1,600 tokens: 20 is already ~32,000 input tokens per analysis, more
/// than a workshop conversation ever needs.
pub(crate) const MAX_IMAGES: usize = 20;
/// The Messages API refuses an image over 5 MB, so a larger cap would only
/// download bytes that cannot be sent.
pub(crate) const MAX_IMAGE_MB: usize = 5;

/// What the model is shown of the photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vision {
    pub enabled: bool,
    /// At most this many images per analysis, newest first.
    pub max_images: usize,
    /// Bytes one image may have, declared or downloaded.
    pub max_image_bytes: usize,
}

impl Default for Vision {
    /// Off: without a `vision:` section the model sees text only.
    fn default() -> Self {
        Self {
            enabled: false,
            max_images: DEFAULT_MAX_IMAGES,
            max_image_bytes: MAX_IMAGE_MB * 1024 * 1024,
        }
    }
}

/// The section as validated; out-of-range values are reported at their
/// line and replaced by the default.
pub(super) fn build_vision(
    path: &Path,
    decl: Option<serde_saphyr::Spanned<VisionDecl>>,
    problems: &mut Problems,
) -> Vision {
    let Some(decl) = decl else {
        return Vision::default();
    };
    let decl = decl.value;
    let mut vision = Vision {
        enabled: decl.enabled.unwrap_or(true),
        ..Vision::default()
    };
    if let Some(max) = decl.max_images {
        if max.value > MAX_IMAGES {
            problems.push(
                Problem::new(
                    path,
                    format!(
                        "analyze: vision.max_images is {}; at most {MAX_IMAGES}",
                        max.value
                    ),
                )
                .at_location(max.referenced),
            );
        } else {
            vision.max_images = max.value;
        }
    }
    if let Some(mb) = decl.max_image_mb {
        if !(1..=MAX_IMAGE_MB).contains(&mb.value) {
            problems.push(
                Problem::new(
                    path,
                    format!(
                        "analyze: vision.max_image_mb is {}; 1 to {MAX_IMAGE_MB} (the API's limit for one image)",
                        mb.value
                    ),
                )
                .at_location(mb.referenced),
            );
        } else {
            vision.max_image_bytes = mb.value * 1024 * 1024;
        }
    }
    vision
}
