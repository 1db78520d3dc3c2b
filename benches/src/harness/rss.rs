//! Resident set size of this process, from `/proc/self/status` (Linux; 0 elsewhere).

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_field(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// Peak RSS (`VmHWM`) since the process started or [`reset_peak`].
pub fn peak() -> u64 {
    status_field("VmHWM")
}

/// Current RSS (`VmRSS`).
pub fn current() -> u64 {
    status_field("VmRSS")
}

/// Resets `VmHWM` to the current RSS (`echo 5 > /proc/self/clear_refs`), so a run's peak is
/// its own; ignored where not permitted.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
