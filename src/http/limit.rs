//! Client-side request limits for APIs that publish them (Syncro: 180 requests a minute;
//! Autotask: 3 concurrent requests per endpoint, 10,000 an hour per database). Waiting here is
//! cheaper and kinder than being refused with 429 and backing off.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// At most `max` requests started in any `window`, and optionally at most `concurrent` in
/// flight at once.
#[derive(Debug)]
pub struct RateLimit {
    max: usize,
    window: Duration,
    started: Mutex<VecDeque<Instant>>,
    concurrent: Option<Semaphore>,
}

impl RateLimit {
    /// At most `max` (at least 1) requests in any `window`.
    pub fn per(max: usize, window: Duration) -> RateLimit {
        RateLimit {
            max: max.max(1),
            window,
            started: Mutex::new(VecDeque::new()),
            concurrent: None,
        }
    }

    /// Only at most `n` (at least 1) requests in flight at once: a connection's `concurrency`.
    pub fn in_flight(n: usize) -> RateLimit {
        // A zero window forgets every start at once, so only the semaphore limits.
        RateLimit::per(usize::MAX, Duration::ZERO).with_concurrency(n)
    }

    /// Also at most `n` (at least 1) requests in flight at once.
    pub fn with_concurrency(mut self, n: usize) -> RateLimit {
        self.concurrent = Some(Semaphore::new(n.max(1)));
        self
    }

    /// Waits until a request may start; hold the returned permit until its response is read.
    pub async fn acquire(&self) -> Option<SemaphorePermit<'_>> {
        let permit = match &self.concurrent {
            Some(s) => Some(s.acquire().await.expect("the semaphore is never closed")),
            None => None,
        };
        loop {
            let wait = {
                let mut started = self.started.lock().await;
                let now = Instant::now();
                while started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    started.pop_front();
                }
                if started.len() < self.max {
                    started.push_back(now);
                    return permit;
                }
                let oldest = *started.front().expect("the window is full");
                (oldest + self.window).saturating_duration_since(now)
            };
            tracing::debug!(
                seconds = wait.as_secs_f64(),
                "waiting for the API's request limit"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_max_requests_start_in_any_window() {
        let limit = RateLimit::per(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..7 {
            let _p = limit.acquire().await;
            starts.push(t0.elapsed().as_secs());
        }
        // Three at once, three a minute later, one two minutes later.
        assert_eq!(starts, [0, 0, 0, 60, 60, 60, 120]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_n_requests_are_in_flight() {
        let limit = Arc::new(RateLimit::per(1000, Duration::from_secs(1)).with_concurrency(2));
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (limit, in_flight, peak) = (limit.clone(), in_flight.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _p = limit.acquire().await;
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
