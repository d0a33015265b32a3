//! `fetch_auth_session` with valid cached tokens allocates nothing and
//! never waits (its future completes on the first poll).

#![allow(clippy::unwrap_used, clippy::panic, unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use amplify_auth::SignInOptions;
use common::{Env, PW};

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.try_with(Cell::get).unwrap_or(false) {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[tokio::test(flavor = "current_thread")]
async fn cached_session_fetch_allocates_nothing() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "zed", PW, &[]).unwrap();
    let auth = env.auth();
    auth.sign_in("zed", Some(PW), SignInOptions::default()).await.unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    // The first call on a thread copies the tokens for it; count after.
    auth.fetch_auth_session(false).await.unwrap();
    ON.with(|on| on.set(true));
    for _ in 0..1000 {
        let mut fut = pin!(auth.fetch_auth_session(false));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(session)) => assert!(session.tokens.is_some()),
            Poll::Ready(Err(err)) => panic!("{err}"),
            Poll::Pending => panic!("the cached path must not wait"),
        }
    }
    ON.with(|on| on.set(false));
    assert_eq!(COUNT.with(Cell::get), 0, "allocations on the cached path");
}
