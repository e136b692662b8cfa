//! The default models shipped in `models/default/` (issue 12, item 8): the smallest of the
//! three, the evolved strategy, is retrained here with the command its file records and must
//! come out identical; the DQN files record the bundled data they were trained on.

use serde_json::Value;

use crate::util::{TestDir, repo_root, texts};

fn shipped(kind: &str) -> Value {
    let p = repo_root().join(format!("models/default/{kind}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn the_default_evolved_strategy_is_reproduced_by_its_command() {
    let file = shipped("evolved");
    let command = file["command"].as_str().unwrap();
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "evolve");
    let td = TestDir::new();
    let out = td.run(&args);
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["genome"], file["genome"]);
    assert_eq!(v["rule"], file["rule"]);
    assert_eq!(v["seed"].as_u64(), file["seed"].as_u64());
}

#[test]
fn the_default_dqns_were_trained_on_the_bundled_btc_data() {
    let bars = algolab::data::load(&crate::util::dataset("BTCUSDT_1h.csv")).unwrap();
    for kind in ["dqn", "leverage-dqn", "evolved"] {
        let f = shipped(kind);
        assert_eq!(
            f["data_hash"].as_str(),
            Some(bars.content_hash().as_str()),
            "{kind}"
        );
        assert_eq!(f["symbol"], "BTC/USDT");
    }
}
