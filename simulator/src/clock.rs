//! Simulated time: the cluster's clock can run faster than real time, so a demo shows a
//! day of CronJobs in minutes and tests need not wait for readiness delays.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    started_real: Instant,
    started_sim: DateTime<Utc>,
    speed: f64,
}

impl Clock {
    /// `speed` 1.0 is real time; 60.0 makes a simulated minute pass each real second.
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Self {
            inner: Arc::new(Inner { started_real: Instant::now(), started_sim: Utc::now(), speed }),
        }
    }

    pub fn speed(&self) -> f64 {
        self.inner.speed
    }

    pub fn now(&self) -> DateTime<Utc> {
        let real = self.inner.started_real.elapsed();
        let simulated = real.mul_f64(self.inner.speed);
        self.inner.started_sim
            + chrono::Duration::from_std(simulated).unwrap_or(chrono::Duration::zero())
    }

    /// RFC 3339 to the second, as Kubernetes writes timestamps.
    pub fn timestamp(&self) -> String {
        self.now().to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Waits for a span of simulated time.
    pub async fn sleep(&self, simulated: Duration) {
        tokio::time::sleep(self.real(simulated)).await;
    }

    /// How long a span of simulated time takes in real time.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.inner.speed)
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use std::time::Duration;

    #[test]
    fn a_fast_clock_runs_ahead_of_real_time() {
        let clock = Clock::new(60.0);
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(100));
        let passed = clock.now() - start;
        assert!(passed >= chrono::Duration::seconds(5), "only {passed} passed");
        assert_eq!(clock.real(Duration::from_secs(60)), Duration::from_secs(1));
    }

    #[test]
    fn nonsense_speeds_fall_back_to_real_time() {
        assert!((Clock::new(-3.0).speed() - 1.0).abs() < f64::EPSILON);
        assert!((Clock::new(f64::NAN).speed() - 1.0).abs() < f64::EPSILON);
    }
}
