#!/usr/bin/env python3
"""Time Stable-Baselines3's DQN on the environment `algolab train-rl` trains on, so the
ratio to `cargo bench --bench rl` can be remeasured on the same machine.

The environment mirrors the Rust one (src/ai/dqn, src/features): the bundled BTC/USDT
hourly bars; an 18-feature state (15 market columns z-scored over the training rows + position,
its unrealized return x10 and bars held / 100), or for --features 35 the same columns padded
with zeros to 35 and 11 actions (actions 3-10 act as HOLD here: the point is the network's
cost, 35 -> 128 -> 64 -> 32 -> 11); fills at the next bar's open; the reward terms of
src/ai/dqn/reward.rs (pnl x10, risk-adjusted x5, -0.1 per trade, +/-0.5 holding terms). The
state is precomputed, so the environment costs ~5 us a step and the timing is SB3's own.

Settings = the Rust bench and ANCHORS.md: net_arch [128, 64, 32], buffer 100 000, batch 64,
target update every 100 steps, learning_starts 1 000, lr 1e-3, gamma 0.99, exploration 1.0 -> 0.01,
train_freq 1 (one gradient step per env step) and 4 (SB3's default), torch on 1 thread.

    pip install stable-baselines3 gymnasium torch   # CPU wheel
    python3 scripts/bench_sb3.py [--steps 20000] [--features 18|35] [--train-freq 1]
"""

import argparse
import csv
import os
import sys
import time

import numpy as np


def load_closes(path):
    o, h, l, c, v = [], [], [], [], []
    with open(path) as f:
        r = csv.DictReader(f)
        for row in r:
            o.append(float(row["open"]))
            h.append(float(row["high"]))
            l.append(float(row["low"]))
            c.append(float(row["close"]))
            v.append(float(row["volume"]))
    return tuple(np.array(x) for x in (o, h, l, c, v))


def ema(x, n):
    out = np.full_like(x, np.nan)
    a = 2.0 / (n + 1)
    out[n - 1] = x[:n].mean()
    for i in range(n, len(x)):
        out[i] = a * x[i] + (1 - a) * out[i - 1]
    return out


def market_features(o, h, l, c, v):
    """15 market columns, the same definitions as src/features/market.rs (approximately:
    RSI/ATR/ADX use simple Wilder recursions here; timing, not values, is the point)."""
    n = len(c)
    f = np.zeros((n, 15))
    lag = lambda k: np.concatenate([np.full(k, np.nan), c[:-k]])
    f[:, 0] = c / lag(1) - 1
    f[:, 1] = c / lag(4) - 1
    f[:, 2] = c / lag(24) - 1
    e20, e50 = ema(c, 20), ema(c, 50)
    f[:, 3] = c / e20 - 1
    f[:, 4] = c / e50 - 1
    d = np.diff(c, prepend=c[0])
    up, dn = ema(np.maximum(d, 0), 27), ema(np.maximum(-d, 0), 27)
    rsi = 100 - 100 / (1 + up / np.maximum(dn, 1e-12))
    f[:, 5] = rsi
    f[:, 6] = np.diff(rsi, prepend=rsi[0])
    macd = ema(c, 12) - ema(c, 26)
    f[:, 7] = (macd - ema(np.nan_to_num(macd), 9)) / c
    f[:, 8] = c / lag(5) - 1
    tr = np.maximum(h - l, np.maximum(abs(h - lag(1)), abs(l - lag(1))))
    atr = ema(np.nan_to_num(tr), 27)
    f[:, 9] = atr / c
    sma = np.convolve(c, np.ones(20) / 20, mode="same")
    sd = np.sqrt(np.convolve((c - sma) ** 2, np.ones(20) / 20, mode="same"))
    f[:, 10] = (c - (sma - 2 * sd)) / np.maximum(4 * sd, 1e-12)
    f[:, 11] = ema(np.nan_to_num(tr), 9) / np.maximum(ema(np.nan_to_num(tr), 39), 1e-12)
    f[:, 12] = ema(np.abs(np.nan_to_num(f[:, 0])), 27) * 1000
    f[:, 13] = np.sign(e20 - e50)
    f[:, 14] = v / np.maximum(np.convolve(v, np.ones(20) / 20, mode="same"), 1e-12)
    return np.nan_to_num(f)


def make_env(width, n_actions):
    import gymnasium as gym

    here = os.path.dirname(os.path.abspath(__file__))
    o, h, l, c, v = load_closes(os.path.join(here, "..", "datasets", "BTCUSDT_1h.csv"))
    m = market_features(o, h, l, c, v)
    train = int(len(c) * 0.6)
    mu, sd = m[:train].mean(0), m[:train].std(0) + 1e-12
    m = np.clip((m - mu) / sd, -5, 5).astype(np.float32)
    sigma = np.nan_to_num(m[:, 9] * sd[9] + mu[9])

    class TradingEnv(gym.Env):
        def __init__(self):
            self.observation_space = gym.spaces.Box(-5, 5, (width,), np.float32)
            self.action_space = gym.spaces.Discrete(n_actions)
            self.start, self.end = 60, train

        def obs(self):
            s = np.zeros(width, np.float32)
            s[:15] = m[self.t]
            s[15] = self.pos
            s[16] = np.clip(self.pos * (c[self.t] / self.entry - 1) * 10, -5, 5) if self.pos else 0
            s[17] = min(self.held, 500) / 100
            return s

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            self.t, self.pos, self.entry, self.held, self.eq = self.start, 0, 0.0, 0, 1.0
            return self.obs(), {}

        def step(self, a):
            t = self.t
            trades, held = 0, a == 0
            if a == 1 and self.pos <= 0:
                trades = 1 + (self.pos < 0)
                self.pos, self.entry, self.held = (0, 0.0, 0) if self.pos < 0 else (1, o[t + 1], 0)
            elif a == 2 and self.pos >= 0:
                trades = 1 + (self.pos > 0)
                self.pos, self.entry, self.held = (0, 0.0, 0) if self.pos > 0 else (-1, o[t + 1], 0)
            r = self.pos * (c[t + 1] / c[t] - 1)
            self.t += 1
            self.held += 1 if self.pos else 0
            u = self.pos * (c[self.t] / self.entry - 1) if self.pos else 0.0
            reward = 10 * r + 5 * np.clip(r / max(sigma[t], 1e-9), -1, 1) - 0.1 * trades
            reward += 0.5 if held and self.pos and u >= 0.01 else 0.0
            reward -= 0.5 if held and self.pos and u <= -0.01 and self.held > 24 else 0.0
            done = self.t >= self.end - 1
            return self.obs(), float(reward), done, False, {}

    return TradingEnv()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--features", type=int, default=18, choices=[18, 35])
    ap.add_argument("--train-freq", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    try:
        import torch
        from stable_baselines3 import DQN
    except ImportError as e:
        sys.exit(f"needs stable-baselines3, gymnasium and torch (CPU): {e}")
    torch.set_num_threads(args.threads)
    n_actions = 3 if args.features == 18 else 11
    env = make_env(args.features, n_actions)
    model = DQN(
        "MlpPolicy",
        env,
        policy_kwargs=dict(net_arch=[128, 64, 32]),
        buffer_size=100_000,
        batch_size=64,
        learning_starts=1_000,
        learning_rate=1e-3,
        gamma=0.99,
        target_update_interval=100,
        train_freq=args.train_freq,
        gradient_steps=1,
        exploration_initial_eps=1.0,
        exploration_final_eps=0.01,
        exploration_fraction=0.5,
        seed=7,
        device="cpu",
    )
    t0 = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    dt = time.perf_counter() - t0
    print(
        f"SB3 DQN {args.features} features, {n_actions} actions, train_freq {args.train_freq}, "
        f"torch {args.threads} thread(s): {args.steps} steps in {dt:.1f} s = {args.steps / dt:.0f} env steps/s"
    )


if __name__ == "__main__":
    main()
