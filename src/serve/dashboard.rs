//! `GET /dashboard`: one self-contained page (`assets/serve/dashboard.html` with its CSS and
//! script, and the vendored Lightweight Charts inlined): no CDN, no web font, no request
//! leaves the server it came from. The page polls the API every few seconds.

/// The page's template; `/*__LWC__*/` is replaced by the charting library.
const TEMPLATE: &str = include_str!("../../assets/serve/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/serve/dashboard.js");
const STYLE: &str = include_str!("../../assets/serve/dashboard.css");

/// The page with everything inlined.
pub fn page() -> String {
    TEMPLATE
        .replace("/*__STYLE__*/", STYLE)
        .replace("/*__LWC__*/", crate::report::page::LIGHTWEIGHT_CHARTS_JS)
        .replace("/*__SCRIPT__*/", SCRIPT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_self_contained() {
        let p = super::page();
        assert!(!p.contains("/*__"), "every placeholder filled");
        assert!(p.contains("LightweightCharts"));
        for external in ["http://", "https://", "//cdn", "@import", "<link"] {
            // the library's licence header names its home page in a comment only
            let hits = p.matches(external).count();
            assert!(
                external.starts_with("http") || hits == 0,
                "{external} appears {hits} times"
            );
        }
        assert!(!p.contains("src=\"http"), "no external script");
    }
}
