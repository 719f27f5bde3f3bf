//! How every test of the project waits: for a named condition, never for a fixed time. In
//! the library (not behind `cfg(test)`) because the server's, the simulator's and the
//! integration tests all use it; nothing in the product calls it.

use std::future::Future;
use std::time::{Duration, Instant};

/// Waits until `check` gives a value, trying again every few milliseconds (a little less
/// often as time goes by: 10 ms doubling up to 200 ms), for at most `timeout`; then panics
/// naming `what` it waited for and how long. Returns the value.
pub async fn eventually_some<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < timeout, "waited {timeout:?} for {what}, in vain");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// [`eventually_some`] for a yes-or-no condition.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_some(timeout, what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let mut tries = 0;
        let got = eventually_some(Duration::from_secs(5), "the third try", || {
            tries += 1;
            let now = tries;
            async move { (now >= 3).then_some(now) }
        })
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waited 50ms for a condition that never holds, in vain")]
    async fn names_what_it_waited_for_when_it_gives_up() {
        eventually(Duration::from_millis(50), "a condition that never holds", || async { false })
            .await;
    }
}
