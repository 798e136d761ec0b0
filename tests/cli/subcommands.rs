//! What a user sees of the first two labs, and clear errors for bad input.

use crate::util::{rlrec, snapshot};

/// `rlrec env` is seeded: its whole output is fixed.
#[test]
fn env_shows_spaces_reset_and_step() {
    let text = rlrec(["env", "--num-candidates", "4"]).ok();
    let expected = "\
environment: strong-lts (4 candidates, slate of 2, resample_documents=true, seed 0)
observation space: Dict('doc': Dict('0': Box(0.0, 1.0, (1,), float32), '1': Box(0.0, 1.0, (1,), float32), '2': Box(0.0, 1.0, (1,), float32), '3': Box(0.0, 1.0, (1,), float32)), 'response': Tuple(Dict('click': Discrete(2), 'engagement': Box(0.0, 100.0, (), float32)), Dict('click': Discrete(2), 'engagement': Box(0.0, 100.0, (), float32))), 'user': Box(0.0, inf, (0,), float32))
action space: MultiDiscrete([4 4])

== resample_documents=true ==
reset observation:
  doc: {0 (id 4): [0.879], 1 (id 5): [0.550], 2 (id 6): [0.829], 3 (id 7): [0.935]}
  response: ({click: 0, engagement: 0.000}, {click: 0, engagement: 0.000})
  user: []
after step with slate [0, 1]:
  doc: {0 (id 8): [0.804], 1 (id 9): [0.154], 2 (id 10): [0.881], 3 (id 11): [0.771]}
  response: ({click: 1, engagement: 11.392}, {click: 0, engagement: 0.000})
  user: []
  reward: 11.392

== resample_documents=false ==
reset observation:
  doc: {0 (id 0): [0.709], 1 (id 1): [0.466], 2 (id 2): [0.699], 3 (id 3): [0.060]}
  response: ({click: 0, engagement: 0.000}, {click: 0, engagement: 0.000})
  user: []
after step with slate [0, 1]:
  doc: {0 (id 0): [0.709], 1 (id 1): [0.466], 2 (id 2): [0.699], 3 (id 3): [0.060]}
  response: ({click: 1, engagement: 10.443}, {click: 0, engagement: 0.000})
  user: []
  reward: 10.443
";
    assert_eq!(text, expected);
    let discrete = rlrec(["env", "--discrete-action"]).ok();
    assert!(
        discrete.contains("\naction space: Discrete(400)\n"),
        "{discrete}"
    );
}

/// The wrappers change what `rlrec env` prints, as they change what an agent sees.
#[test]
fn env_prints_the_wrapped_observation() {
    let user = rlrec(["env", "--num-candidates", "3", "--user-observation"]).ok();
    assert!(
        user.contains("'user': Box(-1.0, 1.0, (1,), float32)"),
        "{user}"
    );
    // The satisfaction of the reset user, sigmoid(0.06·NPE), lies near ½.
    let line = user
        .lines()
        .find(|l| l.starts_with("  user: ["))
        .expect("a user line");
    let satisfaction: f64 = line[9..line.len() - 1].parse().unwrap();
    assert!((0.4..0.6).contains(&satisfaction), "{line}");
    let bandit = rlrec([
        "env",
        "--env",
        "interest-exploration",
        "--num-candidates",
        "3",
        "--bandit-observation",
    ])
    .ok();
    assert!(bandit.contains("observation space: Dict('item': Box(0.0, inf, (3, 3), float32))"));
    assert!(
        bandit.contains(
            "  item: [[0.000, 1.000, 1.349], [0.000, 1.000, 0.994], [0.000, 1.000, 1.339]]\n"
        ),
        "{bandit}"
    );
    assert!(
        !bandit.contains("response"),
        "the bandit view drops the responses"
    );
    let json = rlrec(["env", "--json", "--num-candidates", "2"]).json();
    assert_eq!(json["action_space"], "MultiDiscrete([2 2])");
    assert_eq!(
        json["runs"][0]["step"]["observation"]["response"][0]["click"],
        1
    );
    assert_eq!(
        json["runs"][0]["reset"]["doc_ids"],
        serde_json::json!([2, 3])
    );
}

/// `--time-aware` adds the remaining fraction of the episode after the user features, in
/// every world; the planner's policies act as without it.
#[test]
fn time_aware_adds_the_time_left_in_every_world() {
    for (world, dim) in [
        ("strong-lts", 2),
        ("lts", 2),
        ("interest-evolution", 2),
        ("interest-exploration", 3),
    ] {
        let json = rlrec([
            "env",
            "--json",
            "--env",
            world,
            "--num-candidates",
            "3",
            "--user-observation",
            "--time-aware",
        ])
        .json();
        let user = |phase: &str| {
            json["runs"][0][phase]["observation"]["user"]
                .as_array()
                .unwrap_or_else(|| panic!("{world}: {json}"))
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect::<Vec<_>>()
        };
        let (reset, step) = (user("reset"), user("step"));
        assert!(reset.len() >= dim, "{world}: {reset:?}");
        assert_eq!(reset.last(), Some(&1.0), "{world}: all the episode is left");
        assert!(*step.last().unwrap() < 1.0, "{world}: {step:?}");
    }
    let total = |args: &[&str]| {
        rlrec(["episode", "--policy", "optimal", "--json"])
            .args(args)
            .json()["total_reward"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(total(&[]), total(&["--time-aware"]));
}

#[test]
fn env_shows_the_interest_environments() {
    let text = rlrec([
        "env",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
    ])
    .ok();
    assert!(
        text.contains("action space: MultiDiscrete([10 10])"),
        "{text}"
    );
    assert!(text.contains("'user': Box(-1.0, 1.0, (20,), float32)"));
    assert!(text.contains("horizon 1000"), "{text}");
    let response = text
        .lines()
        .find(|l| l.starts_with("  response: ("))
        .expect("responses are shown");
    assert!(response.contains("watch_time: "), "{response}");
    // Seeded and short: the whole output.
    let text = rlrec([
        "env",
        "--env",
        "interest-exploration",
        "--num-candidates",
        "3",
        "--bandit-observation",
        "--discrete-action",
    ])
    .ok();
    assert_eq!(
        text,
        "\
environment: interest-exploration (3 candidates, slate of 2, resample_documents=true, seed 0, horizon 100)
observation space: Dict('item': Box(0.0, inf, (3, 3), float32))
action space: Discrete(9)

== resample_documents=true ==
reset observation:
  item: [[0.000, 1.000, 1.349], [0.000, 1.000, 0.994], [0.000, 1.000, 1.339]]
after step with slate [0, 1]:
  item: [[0.000, 1.000, 1.192], [0.000, 1.000, 1.292], [1.000, 0.000, 2.172]]
  reward: 0.000

== resample_documents=false ==
reset observation:
  item: [[0.000, 1.000, 1.204], [0.000, 1.000, 1.065], [0.000, 1.000, 1.235]]
after step with slate [0, 1]:
  item: [[0.000, 1.000, 1.204], [0.000, 1.000, 1.065], [0.000, 1.000, 1.235]]
  reward: 0.000
"
    );
}

#[test]
fn episode_plots_and_reports_json_with_the_users_state() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("greedy.png");
    let e = rlrec(["episode", "--policy", "greedy", "--json", "--plot"])
        .args([&png])
        .json();
    let steps = e["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 120);
    let total: f64 = steps.iter().map(|s| s["reward"].as_f64().unwrap()).sum();
    assert!((total - e["total_reward"].as_f64().unwrap()).abs() < 1e-9);
    // The greedy policy serves clickbait: satisfaction falls from its start.
    let sat = |i: usize| steps[i]["user_state"]["satisfaction"].as_f64().unwrap();
    assert!(sat(119) < sat(0), "{} → {}", sat(0), sat(119));
    assert!(steps.iter().all(|s| s["served"][0].as_f64().unwrap() > 0.7));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // The text output is seeded too.
    let text = rlrec(["episode", "--policy", "greedy"]).ok();
    assert_eq!(
        text,
        "greedy policy, strong-lts: 120 steps, total reward 1162.250\n"
    );
}

/// A checkpoint plays its first evaluation episode, the one `inference` evaluates first,
/// and names the policy by its algorithm and run; it is played on the environment it was
/// trained on.
#[test]
fn episode_plays_a_checkpoints_policy() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("bandit");
    rlrec(["train", "--algo", "linucb", "--iterations", "3", "--out"])
        .args([&run])
        .ok();
    let e = rlrec(["episode", "--json", "--checkpoint"])
        .args([&run])
        .json();
    assert_eq!(e["steps"].as_array().unwrap().len(), 120);
    assert!(e["steps"][0]["user_state"]["satisfaction"].is_f64());
    let first = rlrec(["inference", "--episodes", "1", "--json", "--checkpoint"])
        .args([&run])
        .json();
    assert_eq!(e["total_reward"], first["mean"]);
    let text = rlrec(["episode", "--checkpoint"]).args([&run]).ok();
    assert!(
        text.starts_with("linucb (bandit) policy, strong-lts: 120 steps"),
        "{text}"
    );
    rlrec(["episode", "--num-candidates", "5", "--checkpoint"])
        .args([&run])
        .fails_with("it can only be evaluated there");
    rlrec(["episode", "--policy", "greedy", "--checkpoint"])
        .args([&run])
        .fails_with("cannot be used with");
}

#[test]
fn baseline_saves_the_tutorial_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = rlrec([
        "baseline",
        "--policy",
        "random",
        "--episodes",
        "50",
        "--json",
        "--save",
    ])
    .args([dir.path()])
    .json();
    let txt = std::fs::read_to_string(dir.path().join("random_baseline.txt")).unwrap();
    assert_eq!(
        txt.trim().parse::<f64>().unwrap(),
        s["mean"].as_f64().unwrap()
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("random_baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json, s);
    let text = rlrec(["baseline", "--policy", "random", "--episodes", "50"]).ok();
    assert_eq!(
        text,
        "random policy on strong-lts: 50 episodes
  mean return 1154.61 (sd 12.99, 95% interval [1151.01, 1158.21])
  min 1125.56, max 1180.85, mean episode length 120.0
"
    );
}

#[test]
fn interest_environments_report_recsims_metrics() {
    let e = rlrec([
        "episode",
        "--policy",
        "greedy",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
        "--json",
    ])
    .json();
    let steps = e["steps"].as_array().unwrap();
    let clicks = steps.iter().filter(|s| !s["clicked"].is_null()).count();
    assert!(steps
        .iter()
        .all(|s| s["clicked"].is_null() == s["clicked_quality"].is_null()));
    assert!(steps
        .iter()
        .all(|s| s["user_state"]["time_budget"].is_f64()));
    let m = &e["metrics"];
    assert_eq!(m["impression"].as_u64(), Some(steps.len() as u64));
    assert_eq!(m["click"].as_u64(), Some(clicks as u64));
    // LTS has no metrics.
    let lts = rlrec(["episode", "--policy", "random", "--json"]).json();
    assert!(lts.get("metrics").is_none());
    assert!(lts["steps"][0].get("clicked_quality").is_none());

    // The bandit's wrappers work with interest evolution (the user's state, which the
    // bandit observation would drop, is refused with it); a horizon cuts its episodes.
    let s = rlrec([
        "baseline",
        "--policy",
        "greedy",
        "--episodes",
        "20",
        "--env",
        "interest-evolution",
        "--num-candidates",
        "10",
        "--bandit-observation",
        "--discrete-action",
        "--horizon",
        "30",
        "--json",
    ])
    .json();
    assert!(s["mean_length"].as_f64().unwrap() <= 30.0);
    // Greedy by interest clicks often: RecSim's random slates already click 46% of steps.
    let ctr = s["metrics"]["CTR"].as_f64().unwrap();
    assert!(ctr > 0.3 && ctr < 1.0, "CTR {ctr}");
    let text = rlrec([
        "baseline",
        "--policy",
        "random",
        "--episodes",
        "10",
        "--env",
        "interest-exploration",
        "--user-observation",
    ])
    .ok();
    // Seeded: the whole report is fixed.
    assert_eq!(
        text,
        "\
random policy on interest-exploration: 10 episodes
  mean return 21.90 (sd 5.07, 95% interval [18.76, 25.04])
  min 15.00, max 31.00, mean episode length 100.0
  CTR 0.219, average clicked quality 1.580, no-click fraction 0.781 (1000 steps)
  clicks per step by cluster: 0: 0.073, 1: 0.146
"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[&str], &str); 9] = [
        (&["--set", "bogus=1"], "unknown parameter `bogus`"),
        (&["--set", "sensitivity=inf"], "sensitivity"),
        (&["--set", "memory_discount=1.5"], "memory_discount"),
        (&["--slate-size", "21"], "must not exceed num_candidates"),
        (
            &["--num-candidates", "0", "--slate-size", "0"],
            "num_candidates",
        ),
        (&["--env", "mars"], "unknown environment `mars`"),
        (&["--episodes", "0"], "0 is too small: at least 1"),
        (&["--horizon", "0"], "horizon"),
        (&["--set", "choc_stddev=1000"], "choc_stddev"),
    ];
    for (args, message) in cases {
        rlrec(["baseline", "--policy", "random"])
            .args(args)
            .fails_with(message);
    }
}

#[test]
fn bad_interest_parameters_are_clear_errors() {
    let iev = [
        "baseline",
        "--policy",
        "random",
        "--env",
        "interest-evolution",
    ];
    let ie = [
        "baseline",
        "--policy",
        "random",
        "--env",
        "interest-exploration",
    ];
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &iev,
            "sensitivity=0.1",
            "unknown parameter `sensitivity` for interest evolution",
        ),
        (&iev, "step_penalty=-1", "step_penalty"),
        (&iev, "no_click_mass=nan", "no_click_mass"),
        (&iev, "min_normalizer=0", "min_normalizer"),
        (&iev, "time_budget=inf", "time_budget"),
        (&ie, "topic_0_probability=2", "topic_0_probability"),
        (&ie, "topic_1_quality_stddev=-0.1", "topic_1_quality_stddev"),
    ];
    for (base, set, message) in cases {
        rlrec(base).args(["--set", set]).fails_with(message);
    }
}

#[test]
fn baseline_on_vector_environments_depends_on_seed_and_count() {
    let run = |extra: &[&str]| {
        rlrec([
            "baseline",
            "--policy",
            "random",
            "--episodes",
            "40",
            "--json",
        ])
        .args(extra)
        .json()
    };
    let plain = run(&[]);
    assert_eq!(
        run(&["--num-envs", "1"]),
        plain,
        "one environment is the default"
    );
    let four = run(&["--num-envs", "4"]);
    assert_eq!(run(&["--num-envs", "4"]), four, "reproducible");
    assert_ne!(four, plain);
    assert_eq!(four["episodes"].as_u64(), Some(40));
    assert_eq!(four["mean_length"].as_f64(), Some(120.0));
    rlrec(["baseline", "--policy", "random", "--num-envs", "0"]).fails_with("--num-envs");
}

/// Help shows each option's default, and `--set` lists every world's parameters.
#[test]
fn help_names_defaults_and_parameters() {
    let train = rlrec(["train", "--help"]).ok();
    let iterations = format!(
        "[default: {} for slateq ({} offline), 100 for the others (offline: one pass over",
        trainer::SLATEQ_ITERATIONS,
        trainer::OFFLINE_SLATEQ_ITERATIONS
    );
    for expected in [
        "[default: slateq",
        &iterations,
        "else 1000",
        "interest-evolution: min_utility=-3",
        "strong-lts: memory_discount=0.7, sensitivity=0.06",
    ] {
        assert!(train.contains(expected), "train --help lacks {expected:?}");
    }
    let compare = rlrec(["compare", "--help"]).ok();
    assert!(compare.contains("[default: 1000]"), "{compare}");
    for command in ["env", "episode", "baseline", "inference", "compare"] {
        let help = rlrec([command, "--help"]).ok();
        assert!(
            help.contains("--seed"),
            "{command} takes the environment options"
        );
        assert!(help.contains("--json"), "{command} takes --json");
    }
    assert!(rlrec(["inspect", "--help"]).ok().contains("--json"));
    let dir = tempfile::tempdir().unwrap();
    let before = snapshot(dir.path());
    rlrec(["train", "--help"]).current_dir(dir.path()).ok();
    crate::util::assert_unchanged(dir.path(), &before, "help writes nothing");
}

/// One episode has no spread: the summaries say so instead of printing an interval of
/// width zero (issue 27, finding 7).
#[test]
fn one_episode_has_no_interval() {
    for args in [
        vec!["baseline", "--policy", "random", "--episodes", "1"],
        vec![
            "compare",
            "--policy",
            "random",
            "--policy",
            "greedy",
            "--episodes",
            "1",
        ],
    ] {
        let shown = rlrec(&args).ok();
        assert!(shown.contains("one episode: no interval"), "{shown}");
        assert!(!shown.contains("interval ["), "{shown}");
    }
}

/// SARDINE's worlds by rlrec's names or SARDINE's ids, with its short-term oracle, and
/// the refusals of its options.
#[test]
fn sardines_worlds_run_their_oracle_and_refuse_what_they_cannot_use() {
    let oracle = rlrec([
        "baseline",
        "--env",
        "sardine/SingleItem-Static-v0",
        "--policy",
        "oracle",
        "--episodes",
        "20",
        "--json",
    ])
    .json();
    // A static user who is never bored clicks the most relevant item every step.
    assert_eq!(oracle["mean"].as_f64(), Some(100.0));
    assert_eq!(oracle["mean_length"].as_f64(), Some(100.0));
    let random = rlrec([
        "baseline",
        "--env",
        "sardine-single-item-static",
        "--policy",
        "random",
        "--episodes",
        "20",
        "--json",
    ])
    .json();
    assert!(random["mean"].as_f64().unwrap() < 30.0, "{random}");
    rlrec(["baseline", "--policy", "oracle"]).fails_with("has no short-term oracle");
    let top_k = || {
        rlrec([
            "baseline",
            "--policy",
            "random",
            "--env",
            "sardine-slate-top-k-bored",
        ])
    };
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("items.npy");
    top_k()
        .args(["--item-embeddings".as_ref(), missing.as_os_str()])
        .fails_with("cannot read");
    top_k()
        .args(["--resample-documents", "true"])
        .fails_with("set resample_documents to false");
    top_k()
        .args(["--set", "num_topics=1"])
        .fails_with("`num_topics` = 1 is invalid");
}
