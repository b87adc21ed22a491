//! Attached files kept by Threadesk itself (portal uploads, e-mailed
//! attachments), stored in a local directory under random names. The
//! database keeps only the name, type, size and a `blob:` link.

use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The prefix of links to files in this store.
pub const SCHEME: &str = "blob:";

/// A directory of uploaded files.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

/// A file being written: bytes go to a temporary name until it is kept.
pub struct Upload {
    file: tokio::fs::File,
    tmp: PathBuf,
    key: String,
    /// Bytes written so far.
    pub size: u64,
}

impl BlobStore {
    /// A store in `dir` (created if missing).
    pub fn open(dir: impl AsRef<Path>) -> io::Result<BlobStore> {
        std::fs::create_dir_all(dir.as_ref())?;
        Ok(BlobStore {
            dir: dir.as_ref().to_path_buf(),
        })
    }

    /// Starts writing a new file under a fresh random key.
    pub async fn create(&self) -> io::Result<Upload> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(io::Error::other)?;
        let key = hex::encode(bytes);
        let tmp = self.dir.join(format!("{key}.part"));
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Upload {
            file,
            tmp,
            key,
            size: 0,
        })
    }

    /// Keeps a written file; returns its link.
    pub async fn keep(&self, mut upload: Upload) -> io::Result<String> {
        upload.file.flush().await?;
        upload.file.sync_all().await?;
        tokio::fs::rename(&upload.tmp, self.dir.join(&upload.key)).await?;
        Ok(format!("{SCHEME}{}", upload.key))
    }

    /// Throws away a file that will not be used.
    pub async fn discard(&self, upload: Upload) {
        drop(upload.file);
        // best effort: a leftover .part file holds nothing anybody can reach.
        let _ = tokio::fs::remove_file(&upload.tmp).await;
    }

    /// Deletes kept files again (a form whose command was refused).
    pub async fn forget(&self, links: &[String]) {
        for link in links {
            if let Some(path) = self.path_of(link) {
                let _ = tokio::fs::remove_file(path).await;
            }
        }
    }

    /// The path of a `blob:` link, if it is one of ours and well formed.
    pub fn path_of(&self, link: &str) -> Option<PathBuf> {
        let key = link.strip_prefix(SCHEME)?;
        let well_formed = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
        well_formed.then(|| self.dir.join(key))
    }
}

impl BlobStore {
    /// Removes the files no attachment refers to (`referenced` holds the
    /// `blob:` links that are), and uploads left half-written by a crash,
    /// once they are older than `grace` (an upload in progress, or one
    /// whose message is being committed, is younger). The number removed.
    pub async fn sweep(
        &self,
        referenced: &std::collections::HashSet<String>,
        grace: std::time::Duration,
    ) -> io::Result<usize> {
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = name.strip_suffix(".part").unwrap_or(&name);
            let ours = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
            if !ours {
                continue;
            }
            let partial = name.ends_with(".part");
            if !partial && referenced.contains(&format!("{SCHEME}{key}")) {
                continue;
            }
            let age = entry
                .metadata()
                .await?
                .modified()?
                .elapsed()
                .unwrap_or_default();
            if age >= grace && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl Upload {
    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).await
    }
}

impl crate::system::System<'_> {
    /// Every `blob:` link an attachment refers to (what the blob store
    /// must keep).
    pub async fn blob_links(&self) -> crate::error::Result<std::collections::HashSet<String>> {
        let links: Vec<String> =
            sqlx::query_scalar("select url from attachments where url like 'blob:%'")
                .fetch_all(self.db().pool())
                .await?;
        Ok(links.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_kept_under_random_names_and_links_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let mut up = store.create().await.unwrap();
        up.write(b"hello").await.unwrap();
        assert_eq!(up.size, 5);
        let link = store.keep(up).await.unwrap();
        let path = store.path_of(&link).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"hello");
        assert!(store.path_of("blob:../../etc/passwd").is_none());
        assert!(store.path_of("https://example.com/x").is_none());
    }
}
