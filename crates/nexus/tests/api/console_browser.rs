//! The console in a real browser: headless Chromium driven over WebDriver
//! (its own ChromeDriver per test) against a real server on loopback and the
//! Auth0 simulator. Screenshots of the main pages go to
//! `target/console-screenshots/`; axe-core checks them for accessibility.
//!
//! Needs `NEXUS_TEST_CHROMEDRIVER` (the chromedriver binary) and
//! `NEXUS_TEST_AXE` (axe-core's `axe.min.js`), which scripts/test sets up.
//! Without them the tests are skipped with a note, unless
//! `NEXUS_TEST_REQUIRE_BROWSER=1`, which makes that a failure.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::sim_tenant::{console_signs_in_through, linked_user, tenant, Tenant, SEEDED_PASSWORD};
use crate::support::{both_backends, TestApp, API_AUDIENCE};

both_backends!(
    console_browser_finds_edits_and_pushes,
    console_browser_shows_refusals,
    console_browser_pages_are_accessible,
    console_browser_signs_in_through_auth0
);

/// Debian's Chromium, which ChromeDriver starts.
const CHROMIUM: &str = "/usr/bin/chromium";
/// A desktop's and a phone's viewport, in CSS pixels.
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);
/// How long a page may take to show what an action or a search changed:
/// generous, for a loaded machine running the whole suite on two cores.
const PAGE_WAIT: Duration = Duration::from_secs(10);

/// A ChromeDriver of the test's own, in a process group of its own (so that
/// the Chromium it starts goes with it), killed when dropped: also when the
/// test panics.
struct Driver {
    child: Child,
    port: u16,
    /// Chromium's profile, fresh for each test.
    profile: tempfile::TempDir,
}

impl Driver {
    fn start(chromedriver: &str) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{chromedriver} does not start: {e}"));
        Driver {
            child,
            port,
            profile: tempfile::tempdir().expect("a profile directory"),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (at most 10 s) until ChromeDriver answers that it is ready.
    async fn ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(reply) = client.get(format!("{}/status", self.url())).send().await {
                if let Ok(status) = reply.json::<Value>().await {
                    if status["value"]["ready"] == true {
                        return;
                    }
                }
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("chromedriver ended at start: {exit}");
            }
            assert!(Instant::now() < deadline, "chromedriver is not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: ChromeDriver and whatever Chromium is left.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium on the console of `app`.
struct Browser {
    client: Client,
    base: String,
    axe: PathBuf,
    // Dropped after the client.
    _driver: Driver,
}

impl Browser {
    /// None (with a note) when the browser or axe-core is not set up and
    /// `NEXUS_TEST_REQUIRE_BROWSER` is not 1.
    async fn start(app: &TestApp) -> Option<Browser> {
        let required = std::env::var("NEXUS_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let found = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|path| !path.is_empty() && Path::new(path).is_file())
        };
        let (Some(chromedriver), Some(axe)) =
            (found("NEXUS_TEST_CHROMEDRIVER"), found("NEXUS_TEST_AXE"))
        else {
            assert!(
                !required,
                "NEXUS_TEST_REQUIRE_BROWSER=1 but NEXUS_TEST_CHROMEDRIVER or NEXUS_TEST_AXE \
                 names no file (scripts/test installs chromium-driver and axe-core)"
            );
            eprintln!("NEXUS_TEST_CHROMEDRIVER or NEXUS_TEST_AXE is not set: browser case not run");
            return None;
        };
        let mut driver = Driver::start(&chromedriver);
        driver.ready().await;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", driver.profile.path().display()),
        ];
        // Nothing but loopback is reachable here: no calls home.
        args.extend(
            [
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-quic",
            ]
            .map(String::from),
        );
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "timeouts": { "pageLoad": 15_000, "script": 15_000, "implicit": 0 },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            base: app.base.clone(),
            axe: PathBuf::from(axe),
            _driver: driver,
        })
    }

    /// Ends the session (Chromium quits); the driver goes with `self`.
    async fn close(self) {
        let Browser {
            client, _driver, ..
        } = self;
        client.close().await.expect("the session ends");
    }

    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits until the page's path is `path`.
    async fn wait_for_path(&self, path: &str) {
        let found = within(PAGE_WAIT, || async {
            let now = self.path().await;
            (now == path).then_some(now)
        })
        .await;
        assert!(
            found.is_some(),
            "still at {} and not {path}",
            self.path().await
        );
    }

    async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The text of `css` if the page has it now: for polling, while the
    /// page may be changing under the test.
    async fn text_now(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    /// Clicks the button labelled `label` inside `scope` (a CSS selector).
    async fn press(&self, scope: &str, label: &str) {
        let scope = self.find(scope).await;
        let xpath = format!(".//button[normalize-space()='{label}']");
        let button = scope
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {label}: {e}"));
        button.click().await.unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Signs in through the form with `keyId:secret`; lands on the home page.
    async fn sign_in(&self, credential: &str) {
        let (key_id, secret) = credential.split_once(':').unwrap();
        self.open("/console/sign-in").await;
        assert_eq!(self.text("main h1").await, "Sign in");
        self.fill("#key-id", key_id).await;
        self.fill("#secret", secret).await;
        self.press("main form", "Sign in").await;
        self.wait_for_path("/console").await;
        assert_eq!(self.text("main h1").await, "Signed in as test key");
    }

    /// Sizes the viewport (not the window) to `width` × `height`.
    async fn viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap();
        let (inner_width, inner_height) = (
            inner[0].as_u64().unwrap() as u32,
            inner[1].as_u64().unwrap() as u32,
        );
        if (inner_width, inner_height) != (width, height) {
            self.client
                .set_window_size(width * 2 - inner_width, height * 2 - inner_height)
                .await
                .unwrap();
        }
        let inner = self
            .client
            .execute("return window.innerWidth;", vec![])
            .await
            .unwrap();
        assert_eq!(inner, json!(width), "the viewport's width");
    }

    /// Screenshots of the page, whole, at a desktop's and a phone's width,
    /// as `target/console-screenshots/{name}-desktop.png` and `-phone.png`.
    /// Also checks the page does not scroll sideways on a phone.
    async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        for ((width, height), size) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
            self.viewport(width, height).await;
            let sizes = self
                .client
                .execute(
                    "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];",
                    vec![],
                )
                .await
                .unwrap();
            let scroll_width = sizes[0].as_u64().unwrap() as u32;
            if scroll_width > width {
                let wide = self
                    .client
                    .execute(
                        "return [...document.querySelectorAll('body *')]
                           .filter(e => e.getBoundingClientRect().right > window.innerWidth)
                           .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                                + ' ' + Math.round(e.getBoundingClientRect().right));",
                        vec![],
                    )
                    .await
                    .unwrap();
                panic!("{name} is {scroll_width} px wide at a width of {width} px: {wide}");
            }
            let full = (sizes[1].as_u64().unwrap() as u32).max(height);
            self.viewport(width, full).await;
            let png = self.client.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG"), "a PNG");
            // Written whole, then renamed: the two backends' cases write
            // the same files.
            let path = dir.join(format!("{name}-{size}.png"));
            let partial = dir.join(format!(".{name}-{size}.{}.png", std::process::id()));
            std::fs::write(&partial, &png).unwrap();
            std::fs::rename(&partial, &path).unwrap();
        }
        self.viewport(DESKTOP.0, DESKTOP.1).await;
    }

    /// Runs axe-core in the page (injected through WebDriver, which the
    /// page's CSP does not govern): its serious and critical violations,
    /// after printing every violation it found.
    async fn grave_violations(&self, name: &str) -> Vec<Value> {
        let axe = std::fs::read_to_string(&self.axe).expect("axe.min.js");
        self.client.execute(&axe, vec![]).await.expect("axe loads");
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(results => done(results.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
              .catch(error => done({ error: String(error) }));";
        let violations = self.client.execute_async(script, vec![]).await.unwrap();
        let violations = violations
            .as_array()
            .unwrap_or_else(|| panic!("axe failed on {name}: {violations}"));
        if !violations.is_empty() {
            eprintln!(
                "axe on {name}: {}",
                serde_json::to_string_pretty(violations).unwrap()
            );
        }
        violations
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .cloned()
            .collect()
    }

    /// Fails on a serious or critical violation that axe-core finds.
    async fn accessible(&self, name: &str) {
        let grave = self.grave_violations(name).await;
        assert!(
            grave.is_empty(),
            "serious accessibility violations on {name}: {}",
            serde_json::to_string_pretty(&grave).unwrap()
        );
    }
}

/// `target/console-screenshots` of the target directory this test binary
/// was built in (`target/debug/deps/api-…`).
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("console-screenshots")
}

/// Polls `probe` (every 100 ms) until it gives a value, for at most `limit`.
async fn within<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Auth0 user as the simulator holds it.
async fn auth0_user(tenant: &Tenant, azo: &str) -> auth0::User {
    tenant.auth0.get_user(azo).await.unwrap()
}

/// Sign in, find a user by searching as you type, add a custom UPN and see
/// it pushed, block the user and see that pushed, sign out.
async fn console_browser_finds_edits_and_pushes(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &tenant, "ada@example.com").await;
    app.user().await; // Justin Buchanan, whom the search leaves out
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.key("read write").await).await;

    // Search as you type: the results change without the form being sent
    // (the page's own marker survives).
    browser.open("/console/users").await;
    let all = browser.text("#user-results").await;
    assert!(
        all.contains("Ada Lovelace") && all.contains("Justin Buchanan"),
        "{all}"
    );
    browser
        .client
        .execute("window.notReloaded = true;", vec![])
        .await
        .unwrap();
    browser
        .find("#user-search")
        .await
        .send_keys("lovel")
        .await
        .unwrap();
    // The script puts the query into the address once the answer is in.
    let results = within(PAGE_WAIT, || async {
        let url = browser.client.current_url().await.ok()?;
        let text = browser.text_now("#user-results").await?;
        (url.query() == Some("q=lovel") && !text.contains("Justin Buchanan")).then_some(text)
    })
    .await
    .expect("the results follow the typing");
    assert!(results.contains("Ada Lovelace"), "{results}");
    assert!(results.contains("ada@example.com"), "{results}");
    assert_eq!(
        browser
            .client
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap(),
        json!(true),
        "the page was not reloaded"
    );
    assert_eq!(browser.path().await, "/console/users");

    // The user's page.
    browser.find("#user-results a").await.click().await.unwrap();
    let page = format!("/console/users/{user}");
    browser.wait_for_path(&page).await;
    assert_eq!(browser.text("main h1").await, "Ada Lovelace");
    assert!(browser.text("main").await.contains(&azo));

    // A custom UPN, added and then pushed to Auth0.
    browser.fill("#upn-value", "ada@corp.example.com").await;
    browser.fill("#upn-key", "rdp").await;
    browser
        .press("section[aria-labelledby=upns]", "Add custom UPN")
        .await;
    let confirmed = within(PAGE_WAIT, || browser.text_now("p.confirmation")).await;
    assert_eq!(confirmed.as_deref(), Some("The custom UPN is added."));
    assert_eq!(browser.text("ul.upns .upn").await, "ada@corp.example.com");
    assert!(browser.text("ul.upns").await.contains("(key rdp)"));
    let pushed = within(Duration::from_secs(15), || async {
        browser.client.refresh().await.unwrap();
        let state = browser.text_now("td.push-state").await?;
        (state == "pushed").then_some(state)
    })
    .await;
    assert!(
        pushed.is_some(),
        "the push state is still {}",
        browser.text("td.push-state").await
    );
    // Auth0 has it before Nexus records it as pushed.
    assert_eq!(
        json!(auth0_user(&tenant, &azo).await.app_metadata),
        json!({"nexus_user_id": user, "custom_upns": {"rdp": "ada@corp.example.com"}})
    );

    // Blocked, and so in Auth0.
    assert!(!auth0_user(&tenant, &azo).await.blocked.unwrap_or(false));
    browser.press("main .actions", "Block user").await;
    let confirmed = within(PAGE_WAIT, || async {
        let text = browser.text_now("main").await?;
        text.contains("The user is blocked.").then_some(text)
    })
    .await
    .expect("the confirmation");
    assert!(confirmed.contains("State\nblocked"), "{confirmed}");
    assert!(browser.text("main .actions").await.contains("Unblock user"));
    let blocked = within(Duration::from_secs(15), || async {
        auth0_user(&tenant, &azo).await.blocked.filter(|b| *b)
    })
    .await;
    assert_eq!(blocked, Some(true), "blocked in Auth0");
    let stored = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(stored["isActive"], false, "{stored}");

    // Sign out: the sign-in page, and the console is closed again.
    browser.press("header", "Sign out").await;
    browser.wait_for_path("/console/sign-in").await;
    assert_eq!(browser.text("main h1").await, "Sign in");
    browser.open("/console/users").await;
    browser.wait_for_path("/console/sign-in").await;
    assert!(browser.count("#key-id").await == 1);
    browser.close().await;
}

/// A key is refused what it lacks, and the page shows the API's problem;
/// a reading key is offered no form at all.
async fn console_browser_shows_refusals(app: TestApp) {
    let user = app.user().await;
    let role = crate::roles::role(
        &app,
        "key-admins",
        API_AUDIENCE,
        &["apikey.write", "user.read"],
    )
    .await;
    let role_id = role["id"].as_str().unwrap();
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    let page = format!("/console/users/{user}");

    // Roles of Nexus give only what their giver holds: not apikey.write.
    browser
        .sign_in(&app.key("user.read user.write role.read role.write").await)
        .await;
    browser.open(&page).await;
    assert_eq!(browser.text("main h1").await, "Justin Buchanan");
    browser
        .find("#role")
        .await
        .select_by_value(role_id)
        .await
        .unwrap();
    browser
        .press("section[aria-labelledby=roles]", "Assign role")
        .await;
    let problem = within(PAGE_WAIT, || browser.text_now("main .problem"))
        .await
        .expect("the problem is shown");
    assert!(problem.starts_with("Forbidden: "), "{problem}");
    assert!(problem.contains("apikey.write"), "{problem}");
    assert_eq!(
        browser
            .find("main .problem")
            .await
            .attr("role")
            .await
            .unwrap()
            .as_deref(),
        Some("alert")
    );
    let roles = browser.text("section[aria-labelledby=roles]").await;
    assert!(!roles.contains("Remove"), "{roles}");
    let stored = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(stored["roles"], json!([]), "{stored}");
    browser.press("header", "Sign out").await;
    browser.wait_for_path("/console/sign-in").await;

    // Only user.read: the user's page, without a form to change it.
    browser.sign_in(&app.key("user.read").await).await;
    browser.open(&page).await;
    assert_eq!(browser.text("main h1").await, "Justin Buchanan");
    assert!(browser.text("main").await.contains("Profile"));
    assert_eq!(browser.count("main form").await, 0, "no form in the page");
    assert_eq!(browser.count("main button").await, 0);
    assert_eq!(browser.count("header form").await, 1, "only sign-out");
    browser.close().await;
}

/// The main pages: screenshots at a desktop's and a phone's width, and no
/// serious accessibility violation.
async fn console_browser_pages_are_accessible(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, _) = linked_user(&app, &tenant, "ada@example.com").await;
    let upn = app
        .post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"clientUpnKey": "rdp", "customUpnValue": "ada@corp.example.com"}),
        )
        .await;
    assert_eq!(upn.status, 201, "{}", upn.body);
    let role = crate::roles::role(&app, "auditors", API_AUDIENCE, &["audit.read"]).await;
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [role["id"]]}),
        )
        .await;
    assert!(assigned.status.is_success(), "{}", assigned.body);
    app.user().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };

    browser.open("/console/sign-in").await;
    browser.screenshots("sign-in").await;
    browser.accessible("the sign-in page").await;
    // The check can fail: an input without a label is critical.
    browser
        .client
        .execute(
            "document.querySelector('main').append(document.createElement('input'));",
            vec![],
        )
        .await
        .unwrap();
    let grave = browser.grave_violations("the sign-in page, spoilt").await;
    assert!(grave.iter().any(|v| v["id"] == "label"), "{grave:?}");

    browser.sign_in(&app.key("read write").await).await;
    browser.screenshots("home").await;
    browser.accessible("the home page").await;

    browser.open("/console/users").await;
    assert!(browser.text("#user-results").await.contains("Ada Lovelace"));
    browser.screenshots("users").await;
    browser.accessible("the users list").await;

    browser.open(&format!("/console/users/{user}")).await;
    let main = browser.text("main").await;
    for shown in ["Ada Lovelace", "ada@corp.example.com", "auditors", "sim"] {
        assert!(main.contains(shown), "{shown}: {main}");
    }
    browser.screenshots("user").await;
    browser.accessible("a user's page").await;
    browser.close().await;

    let dir = screenshot_dir();
    for name in ["sign-in", "home", "users", "user"] {
        for size in ["desktop", "phone"] {
            let path = dir.join(format!("{name}-{size}.png"));
            assert!(path.is_file(), "{}", path.display());
        }
    }
}

/// A person signs in through the simulated Auth0's login page, acts with
/// their Nexus role's permissions (a UPN added is theirs in the audit
/// trail), and signs out.
async fn console_browser_signs_in_through_auth0(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    console_signs_in_through(&mut app, &tenant).await;
    let email = "grace@example.com";
    let (user, _) = linked_user(&app, &tenant, email).await;
    let role = crate::roles::role(
        &app,
        "console-users",
        API_AUDIENCE,
        &["user.read", "user.write"],
    )
    .await;
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [role["id"]]}),
        )
        .await;
    assert_eq!(assigned.status.as_u16(), 204, "{}", assigned.body);
    let Some(browser) = Browser::start(&app).await else {
        return;
    };

    browser.open("/console/sign-in").await;
    browser
        .client
        .find(Locator::LinkText("Sign in with Auth0"))
        .await
        .expect("the Auth0 sign-in link")
        .click()
        .await
        .unwrap();
    // The simulator's login page, on its own origin.
    let login = within(PAGE_WAIT, || async {
        let url = browser.client.current_url().await.ok()?;
        (url.path() == "/authorize").then_some(url)
    })
    .await
    .expect("the tenant's login page");
    assert_eq!(
        login.origin().ascii_serialization(),
        url::Url::parse(&tenant.sim.base_url())
            .unwrap()
            .origin()
            .ascii_serialization()
    );
    browser.fill("#username", email).await;
    browser.fill("#password", SEEDED_PASSWORD).await;
    browser.press("form", "Continue").await;
    browser.wait_for_path("/console").await;
    assert_eq!(browser.text("main h1").await, "Signed in as Ada Lovelace");
    let held = browser.text("main ul.permissions").await;
    assert_eq!(
        held.split_whitespace().collect::<Vec<_>>(),
        ["user.read", "user.write"]
    );
    browser.accessible("home-auth0").await;

    // An action as the person: a UPN, recorded with the user as the actor.
    browser.open(&format!("/console/users/{user}")).await;
    browser.fill("#upn-value", "grace@corp.example.com").await;
    browser
        .press("section[aria-labelledby=upns]", "Add custom UPN")
        .await;
    let confirmed = within(PAGE_WAIT, || browser.text_now("main p.confirmation"))
        .await
        .expect("a confirmation");
    assert_eq!(confirmed, "The custom UPN is added.");
    let trail = app
        .get("/v1/audit-events?$filter=operation eq 'CreateCustomUpn' and resourceType eq 'customUpn'")
        .await;
    assert_eq!(
        trail.body["value"][0]["actor"],
        user.as_str(),
        "{}",
        trail.body
    );
    assert_eq!(trail.body["value"][0]["actorType"], "user");

    browser.press("header", "Sign out").await;
    browser.wait_for_path("/console/sign-in").await;
    browser.open("/console/users").await;
    browser.wait_for_path("/console/sign-in").await;
    browser.close().await;
}
