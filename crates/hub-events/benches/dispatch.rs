//! Cost of one dispatch to 1, 100 and 10,000 listeners.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "a benchmark aborts on a broken setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hub_events::{AuthEvent, Hub, HubPayload};

fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    for n in [1usize, 100, 10_000] {
        let (hub, key) = Hub::new_with_auth_key();
        let counter = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let c = counter.clone();
                hub.listen("bench", move |capsule| {
                    c.fetch_add(capsule.payload.event.len() as u64, Ordering::Relaxed);
                })
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("callbacks", n), &n, |b, _| {
            b.iter(|| hub.dispatch("bench", black_box(HubPayload::new("tick"))).unwrap());
        });
        let auth: Vec<_> = (0..n)
            .map(|_| {
                hub.listen_auth(|e| {
                    black_box(e.as_str());
                })
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("typed_auth", n), &n, |b, _| {
            b.iter(|| hub.dispatch_auth(&key, black_box(&AuthEvent::TokenRefresh)).unwrap());
        });
        drop((handles, auth));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = dispatch
}
criterion_main!(benches);
