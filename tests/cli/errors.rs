//! Bad input at the command line: each gets one clear message, exit code 2, nothing half-written.

use crate::harness::Env;

#[test]
fn an_unknown_config_key_is_named_with_the_file() {
    let env = Env::new();
    let path = env.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "[connections.ninjaone]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\npagesize = 5\n",
    )
    .unwrap();
    let r = env.run(&["sync"], "").expect(2);
    let err = r.stderr();
    assert!(err.contains("pagesize"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(r.stdout().is_empty());
}

#[test]
fn a_missing_connection_lists_the_configured_ones() {
    let env = Env::new();
    let path = env.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "[connections.ninja-eu]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n",
    )
    .unwrap();
    let err = env.run(&["sync", "ninja-us"], "").expect(2).stderr();
    assert!(err.contains("no connection named `ninja-us`"), "{err}");
    assert!(err.contains("ninja-eu"), "{err}");
}

#[test]
fn nothing_configured_points_at_connect_and_demo() {
    let env = Env::new();
    let err = env.run(&["sync"], "").expect(2).stderr();
    assert!(err.contains("reconcile connect"), "{err}");
    let err = env.run(&["report"], "").expect(2).stderr();
    assert!(err.contains("nothing to report yet"), "{err}");
}

#[test]
fn secrets_are_never_accepted_as_flag_values() {
    let env = Env::new();
    let r = env
        .run(
            &[
                "connect",
                "ninjaone",
                "--region",
                "eu",
                "--client-id",
                "x",
                "--client-secret",
                "hunter2",
            ],
            "",
        )
        .expect(2);
    assert!(r.stderr().contains("--client-secret"), "{}", r.stderr());
    assert!(!env.config_path().exists(), "nothing may be written");
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let env = Env::new();
    let err = env
        .run(
            &[
                "connect",
                "ninjaone",
                "--url",
                "http://ninja.example.com",
                "--client-id",
                "x",
            ],
            "s3cret",
        )
        .expect(2)
        .stderr();
    assert!(err.contains("only https"), "{err}");
    assert!(!err.contains("s3cret"), "the secret leaked: {err}");
    assert!(!env.config_path().exists(), "nothing may be written");
}

#[test]
fn an_unreachable_host_names_the_connection_and_saves_nothing() {
    let env = Env::new();
    // Port 9 (discard) on loopback: nothing listens there in a sealed test run.
    let err = env
        .run(
            &[
                "connect",
                "ninjaone",
                "--name",
                "ninja",
                "--url",
                "http://127.0.0.1:9",
                "--client-id",
                "x",
            ],
            "s3cret",
        )
        .expect(2)
        .stderr();
    assert!(err.contains("connection `ninja`"), "{err}");
    assert!(err.contains("cannot reach http://127.0.0.1:9"), "{err}");
    assert!(err.contains("were not saved"), "{err}");
    assert!(!env.config_path().exists(), "nothing may be written");
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!status.contains("ninja"), "{status}");
}

#[test]
fn an_empty_secret_is_refused() {
    let env = Env::new();
    let err = env
        .run(
            &[
                "connect",
                "ninjaone",
                "--url",
                "http://127.0.0.1:9",
                "--client-id",
                "x",
                "--no-verify",
            ],
            "\n",
        )
        .expect(2)
        .stderr();
    assert!(err.contains("client secret is empty"), "{err}");
    assert!(!env.config_path().exists());
}

#[test]
fn connect_keeps_the_users_comments_in_the_config() {
    let env = Env::new();
    let path = env.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "# my billing setup\ncurrency = \"EUR\" # we bill in euros\n",
    )
    .unwrap();
    env.cleanup.borrow_mut().push("ninja".into());
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--region",
            "eu",
            "--client-id",
            "abc",
            "--no-verify",
        ],
        "s3cret",
    )
    .expect(0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# my billing setup\ncurrency = \"EUR\" # we bill in euros\n"),
        "{text}"
    );
    assert!(text.contains("[connections.ninja]"), "{text}");
    assert!(text.contains("region = \"eu\""), "{text}");
    assert!(
        !text.contains("s3cret"),
        "the secret reached the config: {text}"
    );
}

#[test]
fn disconnect_refuses_while_rules_still_name_the_connection() {
    let env = Env::new();
    let path = env.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = "[connections.ninja]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n\n[[custom_service]]\nconnection = \"ninja\"\nkey = \"srv-ws\"\nname = \"Servers + Workstations\"\nsum_of = [\"total-servers\", \"total-workstations\"]\n";
    std::fs::write(&path, text).unwrap();
    let err = env.run(&["disconnect", "ninja"], "").expect(2).stderr();
    assert!(err.contains("cannot disconnect `ninja`"), "{err}");
    assert!(err.contains("srv-ws"), "{err}");
    assert!(err.contains("Nothing was removed"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the config changed"
    );
}

/// `reconcile report | head -1`: a reader that closes the pipe early ends every output path
/// quietly with 0, whatever the format.
#[test]
fn a_closed_stdout_ends_quietly_on_every_output_path() {
    let served = crate::flow::serve();
    let env = Env::new();
    crate::flow::connected_both(&env, &served.sandbox);
    env.run(&["sync", "--quiet"], "").expect(0);
    for args in [
        &["report", "--format", "table"][..],
        &["report", "--format", "csv"],
        &["report", "--format", "json"],
        &["status", "--format", "json"],
        &["map", "list", "--format", "json"],
        &["map", "list", "--format", "csv"],
    ] {
        let mut child = env
            .std_cmd()
            .args(args)
            .arg("--quiet")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first byte, as `head` does after its line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

/// A config path given with --config or RECONCILE_CONFIG that does not exist is a mistake to
/// name; the default path may be absent (a first run), and then the message names it.
#[test]
fn a_missing_config_is_named_and_only_a_given_one_is_an_error() {
    let env = Env::new();
    let missing = env.dir.path().join("nope/config.toml");
    let missing = missing.to_str().unwrap();
    for args in [&["status"][..], &["sync"], &["report"]] {
        let mut with_flag = vec!["--config", missing];
        with_flag.extend_from_slice(args);
        env.run(&with_flag, "")
            .expect(2)
            .says(&[missing, "does not exist", "connect <kind>"], &[]);
        env.run_env(args, &[("RECONCILE_CONFIG", missing)])
            .expect(2)
            .says(&[missing, "does not exist"], &[]);
    }
    let default = env.config_path();
    let default = default.to_str().unwrap();
    env.run(&["sync"], "").expect(2).says(
        &[
            &format!("no connections are configured in {default} (the file does not exist yet)"),
            "reconcile connect",
        ],
        &[],
    );
    env.run(&["status"], "")
        .expect(0)
        .says(&[default, "reconcile connect"], &[]);
    // `connect` is how a given config file comes to exist.
    env.cleanup.borrow_mut().push("ninja".into());
    env.run(
        &[
            "--config",
            missing,
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--region",
            "eu",
            "--client-id",
            "abc",
            "--no-verify",
        ],
        "s3cret",
    )
    .expect(0);
    env.run(&["--config", missing, "status"], "").expect(0);
    env.run(&["--config", missing, "disconnect", "ninja"], "")
        .expect(0);
}
