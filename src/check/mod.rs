//! Check: static checks over a parsed Goalfile. (stub: being written)

use crate::diagnostic::Result;
use crate::goalfile::Goalfile;

/// Reports every static problem of the Goalfile at once.
pub fn check(goalfile: &Goalfile) -> Result<()> {
    let _ = goalfile;
    Ok(())
}
