//! Parse: KDL text to a typed Goalfile. (stub: being written)

use std::path::Path;

use crate::diagnostic::Result;
use crate::goalfile::Goalfile;

/// Reads the Goalfile at `path` and every file it includes.
pub fn load(path: &Path) -> Result<Goalfile> {
    let _ = path;
    todo!("parser")
}
