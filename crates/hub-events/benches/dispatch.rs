//! Cost of dispatching to 1, 100 and 10,000 listeners: `dispatch` alone
//! (queueing the event for every listener; the callbacks run on the hub's
//! worker threads) and `dispatch` + `flush` (end-to-end delivery).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "a benchmark aborts on a broken setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hub_events::{AuthEvent, Hub, HubPayload, ListenerHandle};

fn counting_listeners(hub: &Hub, n: usize) -> Vec<ListenerHandle> {
    let counter = Arc::new(AtomicU64::new(0));
    (0..n)
        .map(|_| {
            let c = counter.clone();
            hub.listen("bench", move |capsule| {
                c.fetch_add(capsule.payload.event.len() as u64, Ordering::Relaxed);
            })
        })
        .collect()
}

fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    for n in [1usize, 100, 10_000] {
        let (hub, key) = Hub::new_with_auth_key();
        let handles = counting_listeners(&hub, n);
        // Dispatch alone. The workers deliver meanwhile; the time spent
        // flushing between batches is not measured, so the mailboxes do not
        // grow without bound.
        group.bench_with_input(BenchmarkId::new("callbacks", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(1_000);
                    let start = Instant::now();
                    for _ in 0..batch {
                        hub.dispatch("bench", black_box(HubPayload::new("tick"))).unwrap();
                    }
                    spent += start.elapsed();
                    hub.flush();
                    left -= batch;
                }
                spent
            });
        });
        // Dispatch + flush: until every listener has been called.
        group.bench_with_input(BenchmarkId::new("callbacks_delivered", n), &n, |b, _| {
            b.iter(|| {
                hub.dispatch("bench", black_box(HubPayload::new("tick"))).unwrap();
                hub.flush();
            });
        });
        drop(handles);

        let auth: Vec<_> = (0..n)
            .map(|_| {
                hub.listen_auth(|e| {
                    black_box(e.as_str());
                })
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("typed_auth_delivered", n), &n, |b, _| {
            b.iter(|| {
                hub.dispatch_auth(&key, black_box(&AuthEvent::TokenRefresh)).unwrap();
                hub.flush();
            });
        });
        drop(auth);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = dispatch
}
criterion_main!(benches);
