//! Shopping carts, one per browser: a `cart` cookie names the cart, set by the first
//! `POST /api/cart` that has none. In memory only (the demo is about traces, not orders), so a
//! restart empties every cart.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use axum::http::{header, HeaderMap, HeaderValue};

/// Name of the cookie holding the cart id.
pub const COOKIE: &str = "cart";

/// Most carts kept at once; when a new one would pass it, all are dropped (a demo has no
/// customers to disappoint, and memory stays bounded whatever a client sends).
const MAX_CARTS: usize = 10_000;

/// Most units of one product in a cart; further adds are accepted and ignored.
pub const MAX_QUANTITY: u32 = 99;

/// Quantity per SKU, in SKU order.
pub type Lines = BTreeMap<&'static str, u32>;

/// Every cart, by id.
#[derive(Default)]
pub struct Carts {
    carts: Mutex<HashMap<String, Lines>>,
}

impl Carts {
    /// Adds one unit of `sku` to cart `id` (created if new); returns the cart's unit count.
    pub fn add(&self, id: &str, sku: &'static str) -> u32 {
        let mut carts = self.lock();
        if !carts.contains_key(id) && carts.len() >= MAX_CARTS {
            carts.clear();
        }
        let lines = carts.entry(id.to_owned()).or_default();
        let quantity = lines.entry(sku).or_default();
        *quantity = (*quantity + 1).min(MAX_QUANTITY);
        lines.values().sum()
    }

    /// A copy of cart `id`'s lines (empty for an unknown cart).
    pub fn lines(&self, id: Option<&str>) -> Lines {
        id.and_then(|id| self.lock().get(id).cloned())
            .unwrap_or_default()
    }

    /// Empties cart `id`, returning what it held.
    pub fn take(&self, id: Option<&str>) -> Lines {
        id.and_then(|id| self.lock().remove(id)).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lines>> {
        // A panic while holding the lock leaves the map consistent (every update is one call).
        self.carts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The cart id from the request's `Cookie` header, if it holds a well-formed one (32 lowercase
/// hex digits, as [`new_id`] makes).
pub fn id_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| {
            value.len() == 32
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .map(str::to_owned)
}

/// A fresh cart id: 128 bits from the standard library's randomly keyed hasher (an id that
/// names a demo cart, not a secret).
pub fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = (COUNTER.fetch_add(1, Ordering::Relaxed), SystemTime::now());
    let high = RandomState::new().hash_one(seed);
    let low = RandomState::new().hash_one((seed, high));
    format!("{high:016x}{low:016x}")
}

/// `Set-Cookie` for cart `id`: the whole site, not readable from scripts.
pub fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"))
        .unwrap_or_else(|_| HeaderValue::from_static("cart=; Path=/; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_well_formed_cart_ids() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert_ne!(id, new_id());
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; cart={id}; other=1");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("cookie"),
        );
        assert_eq!(id_from(&headers), Some(id.clone()));
        for bad in [
            "cart=xyz",
            "cart=",
            "carts=0123456789abcdef0123456789abcdef",
        ] {
            headers.insert(header::COOKIE, HeaderValue::from_static(bad));
            assert_eq!(id_from(&headers), None, "{bad}");
        }
        assert_eq!(
            set_cookie(&id).to_str().ok(),
            Some(format!("cart={id}; Path=/; HttpOnly; SameSite=Lax").as_str())
        );
    }

    #[test]
    fn carts_count_units_and_empty_on_take() {
        let carts = Carts::default();
        assert_eq!(carts.add("a", "tea-01"), 1);
        assert_eq!(carts.add("a", "tea-01"), 2);
        assert_eq!(carts.add("a", "mug-02"), 3);
        assert_eq!(carts.add("b", "mug-02"), 1);
        assert_eq!(carts.lines(Some("a")).get("tea-01"), Some(&2));
        assert!(carts.lines(None).is_empty());
        assert_eq!(carts.take(Some("a")).values().sum::<u32>(), 3);
        assert!(carts.lines(Some("a")).is_empty());
        for _ in 0..200 {
            carts.add("c", "tea-01");
        }
        assert_eq!(carts.lines(Some("c")).get("tea-01"), Some(&MAX_QUANTITY));
    }
}
