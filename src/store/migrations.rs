//! The learning DB's schema as an ordered list of migrations (DESIGN §4). Migration `i`
//! (0-based) takes the DB from `PRAGMA user_version = i` to `i + 1`. Never edit a released
//! migration; append a new one.

/// The migrations, in order. `MIGRATIONS.len()` is the current schema version.
pub const MIGRATIONS: &[&str] = &[
    // v1: runs and their trades
    "CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        command     TEXT NOT NULL,
        args_json   TEXT NOT NULL DEFAULT '[]',
        seed        INTEGER,
        data_hash   TEXT,
        git_rev     TEXT,
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        status      TEXT NOT NULL DEFAULT 'running',
        stats_json  TEXT,
        symbol      TEXT,
        strategy    TEXT,
        params_json TEXT
    );
    CREATE TABLE trades (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        side        TEXT NOT NULL,
        qty         REAL NOT NULL,
        entry_bar   INTEGER NOT NULL,
        exit_bar    INTEGER NOT NULL,
        entry_ts_ms INTEGER NOT NULL,
        exit_ts_ms  INTEGER NOT NULL,
        entry_price REAL NOT NULL,
        exit_price  REAL NOT NULL,
        pnl         REAL,
        return_pct  REAL,
        fees        REAL,
        mae_pct     REAL,
        mfe_pct     REAL,
        exit_reason TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE INDEX runs_strategy_symbol ON runs(strategy, symbol);",
    // v2: what a report rebuild and the learners need
    "ALTER TABLE runs ADD COLUMN data_path TEXT;
    CREATE TABLE equity (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        bar    INTEGER NOT NULL,
        ts_ms  INTEGER NOT NULL,
        equity REAL,
        PRIMARY KEY (run_id, bar)
    ) WITHOUT ROWID;
    CREATE TABLE strategy_performance (
        id               INTEGER PRIMARY KEY,
        strategy         TEXT NOT NULL,
        symbol           TEXT NOT NULL,
        params_json      TEXT NOT NULL DEFAULT '{}',
        run_id           INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        sharpe           REAL,
        return_pct       REAL,
        max_drawdown_pct REAL,
        trades           INTEGER NOT NULL DEFAULT 0,
        win_rate_pct     REAL,
        created_at       TEXT NOT NULL
    );
    CREATE INDEX strategy_performance_key ON strategy_performance(strategy, symbol);
    CREATE TABLE regime_transitions (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        ts_ms       INTEGER NOT NULL,
        from_regime TEXT NOT NULL,
        to_regime   TEXT NOT NULL,
        confidence  REAL
    );
    CREATE INDEX regime_transitions_run ON regime_transitions(run_id, ts_ms);",
    // v3: every optimisation trial (`algolab optimize`), for resume, the deflated Sharpe
    // ratio's trial count and per-regime parameters
    "CREATE TABLE optimization_results (
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        scope        TEXT NOT NULL DEFAULT 'all',
        trial        INTEGER NOT NULL,
        symbol       TEXT NOT NULL,
        strategy     TEXT NOT NULL,
        regime       TEXT,
        objective    TEXT NOT NULL,
        params_json  TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        value        REAL,
        PRIMARY KEY (run_id, scope, trial)
    );
    CREATE INDEX optimization_results_key ON optimization_results(symbol, strategy, regime);",
    // v4: evolved strategies (src/store/evolve_rows.rs)
    super::evolve_rows::EVOLVE_MIGRATION,
    // AI decisions, LLM calls, leverage results (src/store/ai_rows.rs)
    super::ai_rows::AI_MIGRATION,
    // trained DQN models and their replay transitions (src/store/model_rows.rs)
    super::model_rows::MODELS_MIGRATION,
    // the funding payments of live futures bots (src/store/bot_rows.rs)
    super::bot_rows::BOT_FUNDING_MIGRATION,
];
