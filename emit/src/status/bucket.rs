//! A token bucket: at most `burst` requests at once, `per_second` on average.

use std::time::Duration;

use tokio::time::Instant;

/// Rate limiter for API server writes (tokio time, so paused-time tests see it).
#[derive(Debug)]
pub struct TokenBucket {
    burst: u32,
    per_second: u32,
    /// Tokens, in thousandths (integer arithmetic keeps refills exact).
    milli_tokens: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_second` tokens a second (both at
    /// least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let burst = burst.max(1);
        TokenBucket {
            burst,
            per_second: per_second.max(1),
            milli_tokens: u64::from(burst) * 1000,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last);
        let earned = elapsed.as_millis() as u64 * u64::from(self.per_second);
        if earned > 0 {
            self.milli_tokens = (self.milli_tokens + earned).min(u64::from(self.burst) * 1000);
            self.last = now;
        }
    }

    /// Takes a token if one is available now.
    pub fn try_acquire(&mut self) -> bool {
        self.refill();
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// Waits until a token is available, then takes it.
    pub async fn acquire(&mut self) {
        while !self.try_acquire() {
            let missing = 1000 - self.milli_tokens;
            let wait_ms = missing.div_ceil(u64::from(self.per_second)).max(1);
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let mut bucket = TokenBucket::new(10, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(bucket.try_acquire());
        }
        assert!(!bucket.try_acquire());
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_millis(1100),
            "{elapsed:?}"
        );
    }
}
