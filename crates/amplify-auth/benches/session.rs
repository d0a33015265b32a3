//! `fetch_auth_session` costs: with valid cached tokens (one thread, and
//! several threads at once), and the refresh storm (10,000 concurrent
//! callers on expired tokens, against the in-process local pool).
//!
//! Run with `cargo bench -p amplify-auth --bench session` (or `cargo xtask
//! bench`).

#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use amplify_auth::transport::{HyperTransport, Transport, TransportFuture};
use amplify_auth::{Auth, AuthConfig, SignInOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use local_pool::{ClientOptions, LocalPool};
use token_store::MemoryStorage;

const PW: &str = "Corr3ct-Horse!";

#[derive(Debug)]
struct Counted {
    inner: HyperTransport,
    refreshes: AtomicUsize,
}

impl Transport for Counted {
    fn send(&self, request: http::Request<Vec<u8>>) -> TransportFuture<'_> {
        if request.headers().get("x-amz-target").is_some_and(|v| v.as_bytes().ends_with(b".GetTokensFromRefreshToken"))
        {
            self.refreshes.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.send(request)
    }
}

fn poll_once<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the cached path must complete on the first poll"),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (pool, pool_id, client_id) = rt.block_on(async {
        let pool = LocalPool::start().await.unwrap();
        let pool_id = pool.create_pool("bench").unwrap();
        let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
        pool.create_user(&pool_id, "bench", PW, &[]).unwrap();
        (pool, pool_id, client.client_id)
    });
    let config = |tolerance: Duration| {
        AuthConfig::builder(&pool_id, &client_id)
            .user_pool_endpoint(pool.endpoint())
            .expiry_tolerance(tolerance)
            .build()
            .unwrap()
    };
    let storage = Arc::new(MemoryStorage::new());
    let auth = Auth::builder(config(Duration::from_secs(30))).storage(storage.clone()).build().unwrap();
    rt.block_on(auth.sign_in("bench", Some(PW), SignInOptions::default())).unwrap();

    let mut group = c.benchmark_group("fetch_auth_session");
    group.bench_function("cached/1-thread", |b| {
        b.iter(|| poll_once(auth.fetch_auth_session(false)).unwrap());
    });
    for threads in [2usize, 4] {
        group.bench_function(format!("cached/{threads}-threads"), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(threads as u64);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let auth = auth.clone();
                        s.spawn(move || {
                            for _ in 0..per {
                                poll_once(auth.fetch_auth_session(false)).unwrap();
                            }
                        });
                    }
                });
                // Wall time over all calls: with perfect scaling it falls
                // as threads are added (each call bumps shared refcounts).
                start.elapsed()
            });
        });
    }
    group.finish();

    // An expired session: signed in with the pool's clock two hours behind
    // and stored without clock drift.
    let expired = rt.block_on(async {
        let auth = Auth::builder(config(Duration::from_secs(30))).build().unwrap();
        pool.engine().advance_clock(-7200);
        auth.sign_in("bench", Some(PW), SignInOptions::default()).await.unwrap();
        pool.engine().advance_clock(7200);
        let mut record = auth.token_store().load().await.unwrap().unwrap();
        record.clock_drift_ms = 0;
        record
    });
    let mut group = c.benchmark_group("refresh_storm");
    group.sample_size(10);
    group.bench_function("10000-callers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let counted =
                    Arc::new(Counted { inner: HyperTransport::new().unwrap(), refreshes: AtomicUsize::new(0) });
                let stale = Auth::builder(config(Duration::from_secs(30)))
                    .storage(Arc::new(MemoryStorage::new()))
                    .transport(counted.clone())
                    .build()
                    .unwrap();
                rt.block_on(stale.token_store().save(&expired)).unwrap();
                let start = Instant::now();
                rt.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..10_000 {
                        let stale = stale.clone();
                        set.spawn(async move { stale.fetch_auth_session(false).await.map(|s| s.tokens.is_some()) });
                    }
                    while let Some(served) = set.join_next().await {
                        assert!(served.unwrap().unwrap());
                    }
                });
                total += start.elapsed();
                assert_eq!(counted.refreshes.load(Ordering::Relaxed), 1, "one refresh for 10,000 callers");
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
