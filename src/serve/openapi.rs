//! `GET /api/openapi.json`: an OpenAPI 3.1 description of every endpoint (the tests call
//! each path listed here and check that the router knows it).

use serde_json::{Value, json};

fn page_params(default_limit: usize) -> Value {
    json!([
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0},
         "description": "items to skip, counted from the newest"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": crate::app::bots::MAX_LIMIT, "default": default_limit}}
    ])
}

fn bot_param() -> Value {
    json!({"name": "bot", "in": "path", "required": true,
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"}})
}

fn page_of(item: &str) -> Value {
    json!({"type": "object", "required": ["total", "offset", "limit", "items"], "properties": {
        "total": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object", "description": item}}}})
}

fn answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error() -> Value {
    json!({"$ref": "#/components/responses/Error"})
}

fn obj(description: &str) -> Value {
    json!({"type": "object", "description": description})
}

/// The document.
pub fn document() -> Value {
    let symbol_body = json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "required": ["symbol"], "additionalProperties": false, "properties": {
            "symbol": {"type": "string", "example": "BTC/USDT", "maxLength": 32},
            "bar_time": {"type": "string", "description": "ISO-8601 or YYYY-MM-DD: the last bar opened at or before it (default: the latest closed bar)"}}}}}});
    let post_errors =
        |ok: Value| json!({"200": ok, "400": error(), "401": error(), "413": error()});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "algolab serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The bots and the AI engine over HTTP. Every POST, and every request when the server listens on a non-loopback address or runs with --auth-all, needs Authorization: Bearer $ALGOLAB_API_TOKEN. Errors are JSON: {\"error\": message, \"status\": code}. Lists are pages, newest first."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": answer("an error", json!({"type": "object", "required": ["error", "status"], "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}))}
        },
        "paths": {
            "/dashboard": {"get": {"summary": "The web dashboard (one self-contained page)",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
            "/api/openapi.json": {"get": {"summary": "This document",
                "responses": {"200": answer("OpenAPI 3.1", obj("this document"))}}},
            "/api/status": {"get": {"summary": "Portfolio: total value, P&L today and total, per bot symbol, mode, position, unrealized P&L, last bar, health",
                "responses": {"200": answer("the portfolio", json!({"type": "object", "required": ["total_value", "total_pnl", "today_pnl", "bots"], "properties": {
                    "updated_at": {"type": "string"}, "total_value": {"type": "number"}, "total_pnl": {"type": "number"}, "today_pnl": {"type": "number"},
                    "initial_cash": {"type": "number"}, "unhealthy": {"type": "integer"},
                    "bots": {"type": "array", "items": obj("name, symbol, mode, strategy, equity, total_pnl, today_pnl, unrealized_pnl, position, last_bar, health, trades, wins, return_pct")}}})),
                    "500": error()}}},
            "/api/ai/status": {"get": {"summary": "Each AI component: availability, weight, loaded models and versions, online health and drift (blocked keys), LLM reachability and model",
                "responses": {"200": answer("AI status", json!({"type": "object", "required": ["components", "llm", "models", "health"], "properties": {
                    "components": {"type": "array", "items": obj("component, available, detail, weight")},
                    "weights": {"type": "string"}, "llm": obj("host, model, enabled, timeout_s, reachable, detail, calls_recorded, calls_answered"),
                    "models": {"type": "array", "items": obj("id, parent_id, kind, symbol, env_steps, created_at, test_return_pct")},
                    "model_versions": obj("component → model id"), "health": {"type": "array", "items": obj("key, status, trades, win_rate, expectancy, drifts")},
                    "blocked": {"type": "array", "items": {"type": "string"}}, "evolved_stored": {"type": "integer"}}})), "500": error()}}},
            "/api/ai/advice": {"post": {"summary": "The LLM advisor's opinion on the latest closed bar of a symbol (503 with the reason when the LLM does not answer)",
                "security": [{"bearer": []}], "requestBody": symbol_body,
                "responses": {"200": answer("the LLM's answer", obj("symbol, bar_ts_ms, bar_time, proposed, model, answer {action, confidence, veto, risk_warning, explanation}, error")),
                    "400": error(), "401": error(), "413": error(), "503": answer("no answer", obj("as 200 with answer null and error set"))}}},
            "/api/ai/decision": {"post": {"summary": "The orchestrator's decision on the latest closed bar of a symbol, with each component's opinion, weight and reasons",
                "security": [{"bearer": []}], "requestBody": symbol_body,
                "responses": post_errors(answer("the decision", obj("symbol, bar_ts_ms, bar_time, close, components, action, why, decision {action, confidence, score, size_frac, regime, veto, votes [{component, weight, effective_weight, blocked, action, confidence, reasons}], without}, recent, bars_seen, warnings")))}},
            "/api/ai/learning": {"get": {"summary": "Learning progress: trades learned from, model versions over time, rolling win rate per strategy, evolver fitness by generation, DQN reward curve",
                "responses": {"200": answer("learning progress", obj("counts, online_trades, models, win_rate [{strategy, trades, points [{trade, exit_ts_ms, win_rate_pct}]}], evolver [{generation, genomes, best_fitness, best_validation_fitness}], dqn_model_id, dqn_rewards [{episode, reward, validation_score}]")), "500": error()}}},
            "/api/unified/readiness-check": {"get": {"summary": "DB reachable and migrated, data fresh per bot, exchange reachable with its clock offset, Ollama reachable, Telegram configured, bots healthy",
                "responses": {"200": answer("ready", obj("ready true, checked_at, failing [], checks [{name, ok, detail}]")),
                    "503": answer("not ready", obj("ready false, failing: the names of the failing checks, checks"))}}},
            "/api/bots/{bot}/equity": {"get": {"summary": "A bot's equity history (bar time, equity, cash), newest first",
                "parameters": [bot_param(), page_params(1000)[0], page_params(1000)[1]],
                "responses": {"200": answer("a page", page_of("ts_ms, time, equity, cash")), "400": error(), "404": error()}}},
            "/api/bots/{bot}/trades": {"get": {"summary": "A bot's closed trades, newest first",
                "parameters": [bot_param(), page_params(50)[0], page_params(50)[1]],
                "responses": {"200": answer("a page", page_of("side, qty, entry_ts_ms, exit_ts_ms, entry_price, exit_price, pnl, return_pct, fees, exit_reason")), "400": error(), "404": error()}}},
            "/api/bots/{bot}/decisions": {"get": {"summary": "A bot's decisions, newest first: an ai bot's orchestrator decisions as stored by its ticks (as /api/runs/{id}/decisions: opinions, weights, confidence, size, leverage, veto, why, trade), else each signal of its strategy as it filled, with a sentence",
                "parameters": [bot_param(), page_params(50)[0], page_params(50)[1]],
                "responses": {"200": answer("a page", page_of("ts_ms, time, action, side, qty, price, fee, reason, why")), "400": error(), "404": error()}}},
            "/api/runs": {"get": {"summary": "Recorded runs (backtests, training), newest first",
                "parameters": [page_params(20)[1]],
                "responses": {"200": answer("runs", json!({"type": "array", "items": obj("id, command, symbol, strategy, status, started_at, return_pct, sharpe, trades, win_rate_pct")})), "400": error()}}},
            "/api/runs/{id}/decisions": {"get": {"summary": "An ai run's decisions, explained (why each trade happened), newest first",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}, page_params(50)[0], page_params(50)[1],
                    {"name": "trades_only", "in": "query", "schema": {"type": "boolean"}, "description": "only decisions that opened or closed a trade"}],
                "responses": {"200": answer("a page", page_of("seq, ts_ms, time, intent, action, confidence, regime, veto, votes, without, why, trade")), "400": error(), "404": error()}}}
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_has_an_operation_with_answers() {
        let d = super::document();
        let paths = d["paths"].as_object().unwrap();
        assert!(paths.len() >= 13);
        for (p, ops) in paths {
            for (_, op) in ops.as_object().unwrap() {
                assert!(op["responses"]["200"].is_object(), "{p}");
                assert!(op["summary"].is_string(), "{p}");
            }
        }
    }
}
