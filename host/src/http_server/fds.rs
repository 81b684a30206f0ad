//! The process's file-descriptor budget: raised to the hard limit at start, and split
//! between the public listener's connections and everything else.

/// Descriptors kept back from the public listener's connection cap for everything else
/// the host opens: the admin listener's connections, the data store and deploy store
/// files, connections to DynamoDB and outbound HTTP, the epoch and blocking threads'
/// files.
pub const RESERVED_FDS: u64 = 256;

/// The admin listener's own connection cap: it is for operators and scrapers, and stays
/// reachable when the public listener is full.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The smallest default cap, however low the descriptor limit.
const MIN_MAX_CONNECTIONS: u64 = 16;

/// Raises the soft limit on open files to the hard limit (a no-op where there is none)
/// and returns the soft limit now in force. A failure leaves the limit as it was and is
/// logged: the host still runs, with a smaller default connection cap.
pub fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => return limit,
            Err(e) => tracing::warn!("cannot raise the open-files limit: {e}"),
        }
        match rlimit::getrlimit(rlimit::Resource::NOFILE) {
            Ok((soft, _)) => soft,
            Err(_) => 1024,
        }
    }
    #[cfg(not(unix))]
    {
        u64::MAX
    }
}

/// The public listener's connection cap when the manifest sets none: what the
/// descriptor limit `nofile` leaves after [`RESERVED_FDS`] and the admin listener's cap,
/// so that at the cap the host can still open its files and answer on the admin port.
pub fn default_max_connections(nofile: u64) -> usize {
    let cap = nofile
        .saturating_sub(RESERVED_FDS)
        .saturating_sub(ADMIN_MAX_CONNECTIONS as u64)
        .max(MIN_MAX_CONNECTIONS);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_rest() {
        assert_eq!(default_max_connections(1024), 1024 - 256 - 64);
        assert_eq!(default_max_connections(100), 16);
        assert_eq!(
            default_max_connections(u64::MAX),
            usize::try_from(u64::MAX - 320).unwrap_or(usize::MAX)
        );
    }
}
