// The latency floor of the recurrences behind EMA, ATR, WMA and RSI on this machine: each
// one's chain from bar to bar, in the operations our kernels run (for EMA and ATR the same
// bits as TA-Lib 0.8.1's FMA build; WMA and RSI within 1e-9 of TA-Lib's), as a plain C
// loop over 1 M values, best of 10 by thread CPU time,
// with the clock measured by a chain of dependent integer multiplies (three cycles each).
// A kernel cannot beat its chain's latency without changing the bits, so where both sides
// reach this floor (scripts/bench_indicators.sh) their ratio is 1 within the noise.
// Build and run (no fusing beyond the explicit fma() calls):
//   gcc -O2 -mavx2 -mfma -ffp-contract=off -o /tmp/chain_floor scripts/chain_floor.c -lm
//   /tmp/chain_floor
#include <math.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define N 1000000
static double xs[N], hs[N], ls[N], out[N];
static double ghz;

static void report(const char *name, double best) {
  printf("%-44s %7.1f M values/s  %5.2f cycles a value\n", name, N / best / 1e6,
         ghz * 1e9 * best / N);
}

int main(void) {
  // the LCG walk of benches/indicators.rs in spirit (not the same series: only timing)
  unsigned long long s = 42;
  double x = 100.0;
  for (int i = 0; i < N; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x *= 1.0 + 0.02 * ((double)(s >> 11) * 0x1p-53 - 0.5);
    xs[i] = x;
    hs[i] = x * 1.001;
    ls[i] = x * 0.999;
  }
  double best = 1e9;
  for (int r = 0; r < 5; r++) {
    unsigned long long a = 3;
    double t0 = now();
    // eight dependent 64-bit multiplies per iteration (3 cycles each on Intel cores since
    // Sandy Bridge and on AMD Zen; a chain of immediate adds is not a clock here: Golden
    // Cove folds those at rename), the loop's counter and branch beside the chain
    for (long i = 0; i < 50000000L; i++)
      __asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                       "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0"
                       : "+r"(a));
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  ghz = 50e6 * 8 * 3 / best / 1e9;
  printf("clock %.3f GHz (a chain of dependent integer multiplies)\n", ghz);

  // EMA: v = fma(x - v, k, v): a subtraction and an FMA on the chain
  best = 1e9;
  for (int r = 0; r < 10; r++) {
    double v = xs[0], k = 2.0 / 13.0, t0 = now();
    for (int i = 0; i < N; i++) out[i] = v = fma(xs[i] - v, k, v);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  report("EMA  fma(x - v, k, v)", best);

  // ATR: v = fma(v, c, tr * (1 - c)): one FMA on the chain, the true range beside it
  best = 1e9;
  for (int r = 0; r < 10; r++) {
    double v = 1.0, c = 13.0 / 14.0, g = 1.0 - c, t0 = now();
    for (int i = 1; i < N; i++) {
      double tr = hs[i] - ls[i], a = fabs(xs[i - 1] - hs[i]), b = fabs(xs[i - 1] - ls[i]);
      if (a > tr) tr = a;
      if (b > tr) tr = b;
      out[i] = v = fma(v, c, tr * g);
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  report("ATR  fma(v, c, tr * (1 - c))", best);

  // WMA(20), TA-Lib's running sums: an add and a subtraction on the chain
  best = 1e9;
  for (int r = 0; r < 10; r++) {
    double sub = 0.0, sum = 0.0, trailing = 0.0, pf = 20.0, div = 210.0, t0 = now();
    for (int i = 19; i < N; i++) {
      sub += xs[i];
      sub -= trailing;
      sum += xs[i] * pf;
      trailing = xs[i - 19];
      out[i] = sum / div;
      sum -= sub;
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  report("WMA  sum + x*p - sub", best);

  // RSI(14), ours: (avg * keep + change) * inv_n, gain and loss side by side
  best = 1e9;
  for (int r = 0; r < 10; r++) {
    double g = 1.0, l = 1.0, keep = 13.0, inv = 1.0 / 14.0, t0 = now();
    for (int i = 1; i < N; i++) {
      double d = xs[i] - xs[i - 1], up = d > 0.0 ? d : 0.0, dn = -d > 0.0 ? -d : 0.0;
      l = (l * keep + dn) * inv;
      g = (g * keep + up) * inv;
      double t = g + l;
      out[i] = (t > -1e-14 && t < 1e-14) ? 0.0 : 100.0 * (g / t);
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  report("RSI  (avg * (n-1) + change) * (1/n)", best);

  volatile double sink = out[N - 1];
  (void)sink;
  return 0;
}
