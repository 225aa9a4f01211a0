//! The cache of the checked Goalfile: kdl parses about 1.4 MB/s, so a run whose Goalfile has not
//! changed reads the parsed and checked form from `.goal/cache/` instead.
//!
//! A cache file holds, in order: its [`Format`] (which binary wrote it), a [`FileKey`] for every
//! file the parse read (root and includes), the Goalfile without the files' texts, the texts one
//! after the other, and their total length (8 bytes, little-endian). Only a diagnostic quotes a
//! text, so a run reads the file up to the texts, and a text only when it must ([`CachedText`]):
//! the texts are about half of the file.
//!
//! The cache is used only when the format is this binary's and every file still has its
//! recorded size and either its recorded mtime or, when the mtime moved, the same blake3 hash of
//! its content. Anything else (no cache, another version, a changed or unreadable file, a
//! corrupt cache) parses and checks as usual and rewrites the cache. A Goalfile with problems is
//! never cached, and the cache being unwritable only costs the next run a parse.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::Write as _;
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::diagnostic::Result;
use crate::goalfile::{Goalfile, SourceText};

/// Bump when this file's own layout (the order or content of its parts, [`Format`] and
/// [`FileKey`]) changes.
const SCHEMA: u32 = 2;

/// The source of the cached types: a change to them changes the cached layout, and a developer
/// build keeps its version number for months, so the layout is told apart by its source.
/// (The crates whose types they hold, `compact_str` and `smallvec`, serialize as a string and
/// a sequence whatever their version.)
const LAYOUT: u64 = fingerprint(&[
    include_bytes!("goalfile.rs"),
    include_bytes!("template.rs"),
    include_bytes!("plan/mod.rs"),
    include_bytes!("plan/quantity.rs"),
]);

/// An mtime this close to the moment the file was read is not trusted: a write in the same
/// clock tick as the read, keeping the size, would leave it unchanged. Such a file is hashed
/// on the next run instead (git's "racily clean" entries).
pub(crate) const RACY: Duration = Duration::from_secs(2);

/// Which binary wrote a cache file; first in the file, so that any binary can read it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Format<'a> {
    version: Cow<'a, str>,
    schema: u32,
    layout: u64,
}

const FORMAT: Format<'static> = Format {
    version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
    schema: SCHEMA,
    layout: LAYOUT,
};

/// One file read by the parse, as it was when read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileKey {
    path: PathBuf,
    size: u64,
    /// `None` when it was too recent to trust ([`RACY`]): the hash decides.
    mtime: Option<(i64, i64)>,
    hash: [u8; 32],
}

/// Where the text of one file is in the cache file a Goalfile was loaded from. It holds the open
/// cache file rather than its path: a cache replaced since (by this run or another) is a new
/// file, and this one still has the text that goes with the Goalfile.
#[derive(Debug, Clone)]
pub(crate) struct CachedText {
    cache: Arc<File>,
    offset: u64,
    len: u64,
}

impl CachedText {
    /// The text, or empty when it cannot be read (a diagnostic is then shown without a quote).
    pub(crate) fn read(&self) -> String {
        let mut bytes = vec![0; self.len as usize];
        let text = self
            .cache
            .read_exact_at(&mut bytes, self.offset)
            .map_err(|error| error.to_string())
            .and_then(|()| String::from_utf8(bytes).map_err(|error| error.to_string()));
        text.unwrap_or_else(|error| {
            tracing::debug!(%error, "cannot read a text from the cache");
            String::new()
        })
    }
}

/// Whether a command may leave a fresh cache behind: a dry run writes nothing, not even this,
/// so it parses a changed Goalfile again each time instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Allowed,
    Never,
}

impl Store {
    pub fn unless_dry_run(dry_run: bool) -> Store {
        if dry_run {
            Store::Never
        } else {
            Store::Allowed
        }
    }
}

/// The Goalfile at `path`, parsed and checked, from the cache in `state_dir` when it is valid.
pub fn load_checked(path: &Path, state_dir: &Path, store: Store) -> Result<Goalfile> {
    let file = cache_file(path, state_dir);
    match read(&file, path) {
        Ok(Hit::Fresh(goalfile)) => {
            tracing::debug!(cache = %file.display(), "cache hit");
            Ok(goalfile)
        }
        Ok(Hit::Touched(goalfile)) => {
            tracing::debug!(cache = %file.display(), "cache hit (touched, same content)");
            if store == Store::Allowed {
                write(&file, &goalfile, SystemTime::now());
            }
            Ok(goalfile)
        }
        Err(why) => {
            tracing::debug!(cache = %file.display(), why, "cache miss");
            parse_and_store(path, &file, store)
        }
    }
}

/// The Goalfile at `path`, parsed and checked without looking at the cache (for `--check`), and
/// stored in the cache for the runs that follow.
pub fn refresh(path: &Path, state_dir: &Path, store: Store) -> Result<Goalfile> {
    parse_and_store(path, &cache_file(path, state_dir), store)
}

fn parse_and_store(path: &Path, file: &Path, store: Store) -> Result<Goalfile> {
    let started = SystemTime::now();
    let goalfile = crate::parse::load(path)?;
    crate::check::check(&goalfile)?;
    if store == Store::Allowed {
        write(file, &goalfile, started);
    }
    Ok(goalfile)
}

/// One cache file per root path as given: the same Goalfile named two ways has two, rather
/// than one that each name keeps replacing.
fn cache_file(path: &Path, state_dir: &Path) -> PathBuf {
    let hash = blake3::hash(path.as_os_str().as_encoded_bytes());
    state_dir
        .join("cache")
        .join(format!("goalfile-{}", &hash.to_hex()[..16]))
}

enum Hit {
    Fresh(Goalfile),
    /// Valid, but some file's mtime moved: worth rewriting so the next run skips the hash.
    Touched(Goalfile),
}

/// The cached Goalfile, or why there is none to use.
fn read(file: &Path, root: &Path) -> std::result::Result<Hit, String> {
    let cache = File::open(file).map_err(|error| format!("cannot read it: {error}"))?;
    let (bytes, texts) = read_head(&cache)?;
    let corrupt = |error: postcard::Error| format!("corrupt: {error}");
    let (format, rest) = postcard::take_from_bytes::<Format>(&bytes).map_err(corrupt)?;
    if format != FORMAT {
        return Err(format!(
            "written by goal {} (schema {}, layout {:x})",
            format.version, format.schema, format.layout
        ));
    }
    let (keys, rest) = postcard::take_from_bytes::<Vec<FileKey>>(rest).map_err(corrupt)?;
    if keys.first().is_none_or(|key| key.path != root) {
        return Err("it is for another Goalfile".into());
    }
    let mut touched = false;
    for key in &keys {
        touched |= !unchanged(key)?;
    }
    let mut goalfile: Goalfile = postcard::from_bytes(rest).map_err(corrupt)?;
    let texts_len: u64 = keys.iter().map(|key| key.size).sum();
    if goalfile.files.len() != keys.len() || texts_len != texts.end - texts.start {
        return Err("corrupt: its texts do not match its keys".into());
    }
    let cache = Arc::new(cache);
    let mut offset = texts.start;
    for (source, key) in goalfile.files.iter_mut().zip(&keys) {
        source.text = SourceText::cached(CachedText {
            cache: cache.clone(),
            offset,
            len: key.size,
        });
        offset += key.size;
    }
    Ok(if touched {
        Hit::Touched(goalfile)
    } else {
        Hit::Fresh(goalfile)
    })
}

/// Everything before the texts, and where the texts are.
fn read_head(cache: &File) -> std::result::Result<(Vec<u8>, Range<u64>), String> {
    let unreadable = |error: std::io::Error| format!("cannot read it: {error}");
    let len = cache.metadata().map_err(unreadable)?.len();
    let mut trailer = [0; 8];
    let texts_end = len.checked_sub(8).ok_or("corrupt: too short")?;
    cache
        .read_exact_at(&mut trailer, texts_end)
        .map_err(unreadable)?;
    let texts_start = texts_end
        .checked_sub(u64::from_le_bytes(trailer))
        .ok_or("corrupt: its texts are longer than it")?;
    let mut head = vec![0; texts_start as usize];
    cache.read_exact_at(&mut head, 0).map_err(unreadable)?;
    Ok((head, texts_start..texts_end))
}

/// Whether `key`'s file still has its recorded content; `Ok(false)` when it does, but its
/// mtime moved (or settled) so that rewriting the key would spare the next run the hash.
fn unchanged(key: &FileKey) -> std::result::Result<bool, String> {
    let changed = || format!("{} changed", key.path.display());
    let meta = fs::metadata(&key.path).map_err(|_| changed())?;
    if meta.len() != key.size {
        return Err(changed());
    }
    if key.mtime == Some((meta.mtime(), meta.mtime_nsec())) {
        return Ok(true);
    }
    let text = fs::read(&key.path).map_err(|_| changed())?;
    if *blake3::hash(&text).as_bytes() != key.hash {
        return Err(changed());
    }
    Ok(!settled(&meta, SystemTime::now()))
}

/// Replaces the cache file atomically (a reader sees the old file or the new one). Failing is
/// not an error: the next run parses again.
fn write(file: &Path, goalfile: &Goalfile, read_at: SystemTime) {
    if let Err(error) = try_write(file, goalfile, read_at) {
        tracing::debug!(cache = %file.display(), %error, "cache not written");
    }
}

fn try_write(file: &Path, goalfile: &Goalfile, read_at: SystemTime) -> std::io::Result<()> {
    let keys: Vec<FileKey> = goalfile
        .files
        .iter()
        .map(|source| key(&source.path, source.text.get(), read_at))
        .collect::<std::io::Result<_>>()?;
    let mut bytes =
        postcard::to_stdvec(&(FORMAT, keys, goalfile)).map_err(std::io::Error::other)?;
    let mut texts_len: u64 = 0;
    for source in &goalfile.files {
        let text = source.text.get();
        bytes.extend_from_slice(text.as_bytes());
        texts_len += text.len() as u64;
    }
    bytes.extend_from_slice(&texts_len.to_le_bytes());
    replace(file, &bytes)
}

/// Replaces `file` with `bytes` atomically: a reader sees the old file or the new one, never
/// part of either.
pub(crate) fn replace(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.persist(file)?;
    Ok(())
}

/// The key of a file whose content, when read at `read_at`, was `text`. The hash is of that
/// text, so a file changed since then fails the hash even when its mtime is not trusted.
fn key(path: &Path, text: &str, read_at: SystemTime) -> std::io::Result<FileKey> {
    let meta = fs::metadata(path)?;
    let trusted = settled(&meta, read_at) && meta.len() == text.len() as u64;
    Ok(FileKey {
        path: path.to_path_buf(),
        size: text.len() as u64,
        mtime: trusted.then(|| (meta.mtime(), meta.mtime_nsec())),
        hash: *blake3::hash(text.as_bytes()).as_bytes(),
    })
}

/// Whether a file's mtime was already [`RACY`] old at `time`.
fn settled(meta: &fs::Metadata, time: SystemTime) -> bool {
    meta.modified().is_ok_and(|modified| modified + RACY < time)
}

/// FNV-1a, computable at compile time.
const fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            hash ^= parts[i][j] as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            j += 1;
        }
        i += 1;
    }
    hash
}
