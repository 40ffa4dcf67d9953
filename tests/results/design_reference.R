# Reference values for calibrated designs, numeric survey answers and contrasts on subset designs.
# Run from the repository root:  Rscript tests/results/design_reference.R
# R 4.2.2 with survey 4.1-1 (r-cran-survey), jsonlite and MASS (Debian packages).
# Reads tests/results/survey_{strat,weighted,srs}_data.csv (built by survey_reference.R; not modified
# here), builds tests/results/survey_numeric_data.csv, and writes every result to
# tests/results/design_reference.json (digits = NA: 15 significant digits).
#
# Every record carries `r_call`, the R expression that produced it (deparsed from the very call that
# was evaluated, so it cannot drift from what ran). The names in those expressions are the objects
# defined below; the top-level fields `designs`, `calibration_designs` and `populations` say what they
# are. Convention for missing answers: the analysis domain is the respondents who answered,
# subset(design, !is.na(var)), taken AFTER calibrating the full design; by-group results use svyby on
# that subset design and df = degf() of the (group's) subset design.
suppressMessages({library(survey); library(jsonlite)})
res <- "tests/results/"
regions <- c("north", "south", "east", "west")

# Evaluate a call and keep its text for provenance.
run <- function(cl) eval(cl, globalenv())
txt <- function(cl) paste(deparse(cl, width.cutoff = 500L), collapse = " ")
# Calibrated designs keep the rows that subset() removes (with weight 0), so svyglm inside svyciprop
# warns that zero-weight rows are ignored for the (unused) quasibinomial dispersion. Harmless: muffle
# exactly that warning and nothing else.
quiet_glm <- function(expr) withCallingHandlers(expr, warning = function(w) {
  if (grepl("observations with zero weight not used for calculating dispersion", conditionMessage(w)))
    invokeRestart("muffleWarning")
})
rows <- function(...) { d <- rbind(...); rownames(d) <- NULL; d }

# ---- Data written by survey_reference.R --------------------------------------------------------
read_survey <- function(file) {
  d <- read.csv(paste0(res, file), stringsAsFactors = FALSE)
  # select-multiple columns: TRUE/FALSE where asked, NA where skipped (read.csv gives logical already;
  # as.logical makes that explicit and also covers a column that happens to be all NA)
  for (v in grep("^roles__", names(d), value = TRUE)) d[[v]] <- as.logical(d[[v]])
  d
}
strat_df <- read_survey("survey_strat_data.csv")
wtd_df <- read_survey("survey_weighted_data.csv")
srs_df <- read_survey("survey_srs_data.csv")

strat <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = strat_df)
weighted <- svydesign(ids = ~1, weights = ~weight, data = wtd_df)
srs <- svydesign(ids = ~1, data = srs_df)
# One-stage cluster sample: the PSUs of the stratified file, ignoring strata and fpc.
cluster <- svydesign(ids = ~psu, weights = ~weight, data = strat_df)

# ---- Numeric survey answers: build survey_numeric_data.csv --------------------------------------
set.seed(20161201)
npsu <- c(3, 4, 3, 5)            # sampled PSUs per stratum
popsu <- c(12, 20, 9, 30)        # population PSUs per stratum (fpc)
# 8-20 respondents per PSU, redrawn until the 15 PSUs hold exactly 240 respondents.
repeat {
  m <- sample(8:20, sum(npsu), replace = TRUE)
  if (sum(m) == 240) break
}
num_df <- NULL
k <- 0
for (h in 1:4) for (j in 1:npsu[h]) {
  k <- k + 1
  num_df <- rbind(num_df, data.frame(
    stratum = h, psu = paste0("h", h, "p", j), fpc = popsu[h],
    weight = round(popsu[h] / npsu[h] * runif(m[k], 4, 16), 3),
    region = sample(regions, m[k], replace = TRUE, prob = list(c(4, 3, 2, 1), c(1, 4, 3, 2), c(2, 2, 4, 2), c(1, 1, 2, 6))[[h]]),
    wave = sample(c("2015-12", "2016-12"), m[k], replace = TRUE)))
}
n <- nrow(num_df)
# A PSU effect, so that clustering matters for the variances.
psu_effect <- exp(rnorm(length(m), 0, 0.5))[match(num_df$psu, unique(num_df$psu))]
# Outages in the last 12 months: zero-inflated negative binomial (many zeros, a long right tail).
outages <- ifelse(runif(n) < 0.4, 0L, rnbinom(n, size = 0.7, mu = 6 * psu_effect))
outages[sample(n, round(0.08 * n))] <- NA          # item non-response: exactly 8%
# Longest outage (hours): lognormal, asked only of respondents who reported at least one outage.
hours <- pmax(round(rlnorm(n, log(4), 1.1) * psu_effect, 2), 0.01)
hours[is.na(outages) | outages == 0] <- NA
# Incidents this year and the year before share a latent rate, hence are correlated.
rate <- rgamma(n, shape = 1.5, scale = 2) * psu_effect
inc <- rpois(n, rate)
inc_prev <- rpois(n, 1.1 * rate)
inc[sample(n, round(0.05 * n))] <- NA                 # 5% missing in each, independently
inc_prev[sample(n, round(0.05 * n))] <- NA
num_df$outages_12m <- outages
num_df$longest_outage_hours <- hours
num_df$incidents_12m <- inc
num_df$incidents_prev_12m <- inc_prev
write.csv(num_df, paste0(res, "survey_numeric_data.csv"), row.names = FALSE)
num_df <- read.csv(paste0(res, "survey_numeric_data.csv"), stringsAsFactors = FALSE)  # exactly what Python reads

num_strat <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = num_df)
num_weighted <- svydesign(ids = ~1, weights = ~weight, data = num_df)
num_srs <- svydesign(ids = ~1, data = num_df)

design_calls <- list(
  strat = 'svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = strat_df)',
  weighted = 'svydesign(ids = ~1, weights = ~weight, data = wtd_df)',
  srs = 'svydesign(ids = ~1, data = srs_df)',
  cluster = 'svydesign(ids = ~psu, weights = ~weight, data = strat_df)',
  num_strat = 'svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = num_df)',
  num_weighted = 'svydesign(ids = ~1, weights = ~weight, data = num_df)',
  num_srs = 'svydesign(ids = ~1, data = num_df)',
  strat_df = 'read.csv("tests/results/survey_strat_data.csv", stringsAsFactors = FALSE)',
  wtd_df = 'read.csv("tests/results/survey_weighted_data.csv", stringsAsFactors = FALSE)',
  srs_df = 'read.csv("tests/results/survey_srs_data.csv", stringsAsFactors = FALSE)',
  num_df = 'read.csv("tests/results/survey_numeric_data.csv", stringsAsFactors = FALSE)'
)

# ==== 1. Calibration ===============================================================================
pop_region <- data.frame(region = regions, Freq = c(30000, 25000, 25000, 20000))
pop_size <- data.frame(size = c("small", "medium", "large"), Freq = c(70000, 20000, 10000))
pop_wave <- data.frame(wave = c("2015-12", "2016-12"), Freq = c(48000, 52000))
ctl <- list(maxit = 200, epsilon = 1e-9)
# calibrate() wants totals named like the columns of model.matrix(~region + size): treatment
# contrasts, so the alphabetically first levels (east, large) are absorbed in the intercept.
pop_totals <- c(`(Intercept)` = 100000,
                setNames(pop_region$Freq, paste0("region", pop_region$region)),
                setNames(pop_size$Freq, paste0("size", pop_size$size)))
pop_totals <- pop_totals[colnames(model.matrix(~region + size, wtd_df))]
print(pop_totals)

# Bounded linear calibration. survey's grake() starts from g = 1 and clamps g to the bounds, so the
# bounds must bracket 1 on the scale of the input weights. The weighted file's weights sum to ~8840,
# not 100000 (mean g ~ 11.3, and grake only rescales by itself when every total is > 20x off), so
# calibrate(weighted, ..., bounds = c(0.7, 1.6)) cannot even start. Bounds are therefore applied to
# a copy of the design whose weights are first scaled to the population total; unbounded linear and
# raking calibration give identical weights from either design (checked below), so only the
# meaning of the bounds changes: g relative to weight * 100000 / sum(weight).
wtd_df$weight_N <- wtd_df$weight * 100000 / sum(wtd_df$weight)
weighted_N <- svydesign(ids = ~1, weights = ~weight_N, data = wtd_df)
design_calls$weighted_N <- 'svydesign(ids = ~1, weights = ~weight_N, data = wtd_df) with wtd_df$weight_N <- wtd_df$weight * 100000 / sum(wtd_df$weight)'
# Try the requested bounds first, then widen until calibration converges with weights on both bounds.
# On the scaled weights the margins need average g of 0.688 (north), 2.16 (west), 0.386 (size large),
# so c(0.7, 1.6), c(0.5, 2) and c(0.4, 2.2) are infeasible (R: "Calibration failed").
bound_tries <- list(c(0.7, 1.6), c(0.5, 2), c(0.4, 2.2), c(0.25, 2.5))
bounds_log <- NULL
for (b in bound_tries) {
  fit <- tryCatch(suppressWarnings(calibrate(weighted_N, ~region + size, population = pop_totals,
                                             bounds = b, maxit = 200, epsilon = 1e-9)),
                  error = function(e) e)
  if (inherits(fit, "error")) {
    cat(sprintf("bounds c(%g, %g): %s\n", b[1], b[2], conditionMessage(fit)))
    bounds_log <- rows(bounds_log, data.frame(lower = b[1], upper = b[2], converged = FALSE, n_at_lower = NA, n_at_upper = NA))
    next
  }
  g <- weights(fit) / weights(weighted_N)
  n_lo <- sum(abs(g - b[1]) < 1e-9); n_hi <- sum(abs(g - b[2]) < 1e-9)
  cat(sprintf("bounds c(%g, %g): converged, g in [%.6f, %.6f], %d weights at lower, %d at upper bound\n",
              b[1], b[2], min(g), max(g), n_lo, n_hi))
  bounds_log <- rows(bounds_log, data.frame(lower = b[1], upper = b[2], converged = TRUE, n_at_lower = n_lo, n_at_upper = n_hi))
  if (n_lo > 0 && n_hi > 0) break
}
cal_bounds <- b

cal_calls <- list(
  rake_weighted = quote(rake(weighted, list(~region, ~size), list(pop_region, pop_size), control = ctl)),
  rake_cluster = quote(rake(cluster, list(~region, ~wave), list(pop_region, pop_wave), control = ctl)),
  poststratify_strat = quote(postStratify(strat, ~region, pop_region)),
  calibrate_linear = quote(calibrate(weighted, ~region + size, population = pop_totals)),
  calibrate_bounded = bquote(calibrate(weighted_N, ~region + size, population = pop_totals,
                                       bounds = .(cal_bounds), maxit = 200, epsilon = 1e-9)),
  calibrate_raking = quote(calibrate(weighted, ~region + size, population = pop_totals, calfun = "raking"))
)
for (cs in names(cal_calls)) assign(cs, run(cal_calls[[cs]]))
# The fixed-weight counterpart of rake_cluster: the raked weights used as if they were design weights.
strat_raked_df <- transform(strat_df, w_raked = weights(rake_cluster))
rake_cluster_fixed <- svydesign(ids = ~psu, weights = ~w_raked, data = strat_raked_df)
calib_calls_txt <- lapply(cal_calls, txt)
calib_calls_txt$rake_cluster_fixed <- 'svydesign(ids = ~psu, weights = ~w_raked, data = strat_raked_df) with strat_raked_df <- transform(strat_df, w_raked = weights(rake_cluster))'
base_design <- c(rake_weighted = "weighted", rake_cluster = "cluster", rake_cluster_fixed = "cluster",
                 poststratify_strat = "strat", calibrate_linear = "weighted", calibrate_bounded = "weighted",
                 calibrate_raking = "weighted")

# Sanity checks: the calibrations hit their totals, and scaling the input weights does not change
# unbounded linear calibration.
stopifnot(isTRUE(all.equal(weights(calibrate_linear),
                           weights(calibrate(weighted_N, ~region + size, population = pop_totals)))))
stopifnot(isTRUE(all.equal(unname(coef(svytotal(~region + size, calibrate_bounded))),
                           c(25000, 30000, 25000, 20000, 10000, 20000, 70000))))
stopifnot(isTRUE(all.equal(unname(coef(svytotal(~wave, rake_cluster))), c(48000, 52000))))
cat("calibrate_raking vs rake_weighted, max relative weight difference:",
    max(abs(weights(calibrate_raking) / weights(rake_weighted) - 1)), "\n")

# svyciprop on calibrated subsets: subset() of a calibrated design keeps the excluded rows with
# weight 0 (their answer is NA), and svyciprop's SE comes from svymean(), which then returns NaN.
# na.rm = TRUE (passed on to svymean) zeroes those rows; they carry no weight, so estimates and
# domain variances are unchanged. For the uncalibrated rake_cluster_fixed it changes nothing.
prop_rows <- function(cs, by) {
  dsub <- bquote(subset(.(as.name(cs)), !is.na(answer)))
  out <- NULL
  cl <- bquote(svyciprop(~I(answer == "yes"), .(dsub), method = "logit", na.rm = TRUE))
  ci <- quiet_glm(run(cl))
  out <- rows(out, data.frame(case = cs, design = base_design[[cs]], variable = "answer", category = "yes",
                              by = "", group = "", estimate = as.vector(ci), se = sqrt(as.vector(attr(ci, "var"))),
                              ci_low = attr(ci, "ci")[[1]], ci_high = attr(ci, "ci")[[2]],
                              df = degf(run(dsub)), r_call = txt(cl)))
  for (bv in by) {
    cl <- bquote(svyby(~I(answer == "yes"), ~.(as.name(bv)), .(dsub), svyciprop, method = "logit",
                       vartype = c("se", "ci"), na.rm = TRUE))
    b <- quiet_glm(run(cl))
    dfs <- sapply(b[[bv]], function(g) degf(run(bquote(subset(.(dsub), .(as.name(bv)) == .(g))))))
    out <- rows(out, data.frame(case = cs, design = base_design[[cs]], variable = "answer", category = "yes",
                                by = bv, group = b[[bv]], estimate = b[[2]], se = b[[3]],
                                ci_low = b$ci_l, ci_high = b$ci_u, df = unname(dfs), r_call = txt(cl)))
  }
  out
}
# Select-multiple share (roles: ceo) among those asked: svymean for estimate/SE, svyciprop for the CI.
roles_rows <- function(cs) {
  dsub <- bquote(subset(.(as.name(cs)), !is.na(roles__ceo)))
  cl <- bquote(svymean(~as.numeric(roles__ceo), .(dsub), na.rm = TRUE))
  cl_ci <- bquote(svyciprop(~roles__ceo, .(dsub), method = "logit", na.rm = TRUE))
  m <- run(cl)
  ci <- quiet_glm(run(cl_ci))
  stopifnot(isTRUE(all.equal(coef(m)[[1]], as.vector(ci))))
  data.frame(case = cs, design = base_design[[cs]], variable = "roles", category = "ceo", by = "", group = "",
             estimate = coef(m)[[1]], se = SE(m)[[1]], ci_low = attr(ci, "ci")[[1]], ci_high = attr(ci, "ci")[[2]],
             df = degf(run(dsub)), r_call = txt(cl), r_call_ci = txt(cl_ci))
}
calib <- rows(
  prop_rows("rake_weighted", "region"),
  prop_rows("rake_cluster", "wave"),
  prop_rows("rake_cluster_fixed", character(0)),
  prop_rows("poststratify_strat", c("region", "wave")),
  prop_rows("calibrate_linear", "region"),
  prop_rows("calibrate_bounded", "region"),
  prop_rows("calibrate_raking", "region")
)
calib$r_call_ci <- NA_character_
calib <- rows(calib, roles_rows("rake_weighted"), roles_rows("poststratify_strat"), roles_rows("calibrate_linear"))
calibrated_weights <- lapply(setNames(names(cal_calls), names(cal_calls)), function(cs) unname(weights(get(cs))))

# ==== 2. Numeric answers ==========================================================================
num_designs <- c(strat = "num_strat", weighted = "num_weighted", srs = "num_srs")
ci_t <- function(obj, df) unname(confint(obj, df = df)[1, ])
stat_rows <- function(dn, estimator, var, fun, dsub, formula_args, varname) {
  # overall
  cl <- as.call(c(list(as.name(fun)), formula_args, list(dsub)))
  d <- run(dsub); df <- degf(d)
  cl_ci <- bquote(confint(.(cl), df = degf(.(dsub))))
  obj <- run(cl)
  est <- coef(obj)[[1]]
  se <- if (estimator == "ratio") sqrt(as.vector(vcov(obj))) else SE(obj)[[1]]
  ci <- ci_t(obj, df); cin <- unname(confint(obj)[1, ])
  out <- data.frame(design = dn, estimator = estimator, variable = varname, by = "", group = "", quantile = NA_real_,
                    estimate = est, se = se, ci_low = ci[1], ci_high = ci[2], ci_low_normal = cin[1], ci_high_normal = cin[2],
                    df = df, r_call = txt(cl), r_call_ci = txt(cl_ci))
  # by region: svyby for estimate/SE; each group's t interval uses that group's degf, so it is
  # taken from the same statistic on subset(dsub, region == g) (checked equal to the svyby row).
  cl_by <- if (estimator == "ratio")
    bquote(svyby(~incidents_12m, ~region, .(dsub), svyratio, denominator = ~incidents_prev_12m))
  else bquote(svyby(~.(as.name(var)), ~region, .(dsub), .(as.name(fun))))
  b <- run(cl_by)
  for (i in seq_len(nrow(b))) {
    g <- b$region[i]
    dg <- bquote(subset(.(dsub), region == .(g)))
    clg <- as.call(c(list(as.name(fun)), formula_args, list(dg)))
    objg <- run(clg); dfg <- degf(run(dg))
    seg <- if (estimator == "ratio") sqrt(as.vector(vcov(objg))) else SE(objg)[[1]]
    stopifnot(isTRUE(all.equal(c(coef(objg)[[1]], seg), unname(unlist(b[i, 2:3])))))
    ci <- ci_t(objg, dfg); cin <- unname(confint(objg)[1, ])
    out <- rows(out, data.frame(design = dn, estimator = estimator, variable = varname, by = "region", group = g,
                                quantile = NA_real_, estimate = b[i, 2], se = b[i, 3], ci_low = ci[1], ci_high = ci[2],
                                ci_low_normal = cin[1], ci_high_normal = cin[2], df = dfg, r_call = txt(cl_by),
                                r_call_ci = txt(bquote(confint(.(clg), df = degf(.(dg)))))))
  }
  out
}
quantile_rows <- function(dn) {
  dsub <- bquote(subset(.(as.name(num_designs[[dn]])), !is.na(longest_outage_hours)))
  probs <- c(0.5, 0.9)
  cl <- bquote(svyquantile(~longest_outage_hours, .(dsub), quantiles = c(0.5, 0.9), ci = TRUE))
  q <- run(cl)
  ci <- confint(q)
  out <- data.frame(design = dn, estimator = "quantile", variable = "longest_outage_hours", by = "", group = "",
                    quantile = probs, estimate = unname(coef(q)), se = unname(SE(q)), ci_low = unname(ci[, 1]),
                    ci_high = unname(ci[, 2]), ci_low_normal = NA_real_, ci_high_normal = NA_real_,
                    df = degf(run(dsub)), r_call = txt(cl), r_call_ci = txt(bquote(confint(.(cl)))))
  cl_by <- bquote(svyby(~longest_outage_hours, ~region, .(dsub), svyquantile, quantiles = c(0.5, 0.9), ci = TRUE,
                        keep.var = TRUE, vartype = c("se", "ci")))
  b <- run(cl_by)
  for (i in seq_len(nrow(b))) {
    g <- b$region[i]
    dg <- bquote(subset(.(dsub), region == .(g)))
    # The same numbers from svyquantile on the group's subset (what svyby does internally).
    qg <- run(bquote(svyquantile(~longest_outage_hours, .(dg), quantiles = c(0.5, 0.9), ci = TRUE)))
    v <- unlist(b[i, -1])
    stopifnot(isTRUE(all.equal(unname(v[1:2]), unname(coef(qg)))),
              isTRUE(all.equal(unname(v[3:4]), unname(SE(qg)))),
              isTRUE(all.equal(unname(v[5:8]), unname(c(confint(qg))))))
    out <- rows(out, data.frame(design = dn, estimator = "quantile", variable = "longest_outage_hours", by = "region",
                                group = g, quantile = probs, estimate = unname(v[1:2]), se = unname(v[3:4]),
                                ci_low = unname(v[5:6]), ci_high = unname(v[7:8]), ci_low_normal = NA_real_,
                                ci_high_normal = NA_real_, df = degf(run(dg)), r_call = txt(cl_by),
                                r_call_ci = NA_character_))
  }
  out
}
numeric <- NULL
for (dn in names(num_designs)) {
  des <- as.name(num_designs[[dn]])
  for (v in c("outages_12m", "longest_outage_hours")) {
    dsub <- bquote(subset(.(des), !is.na(.(as.name(v)))))
    f <- list(as.formula(paste0("~", v)))
    # as.formula objects deparse as "~x" in r_call
    numeric <- rows(numeric, stat_rows(dn, "mean", v, "svymean", dsub, f, v))
    numeric <- rows(numeric, stat_rows(dn, "total", v, "svytotal", dsub, f, v))
  }
  dsub <- bquote(subset(.(des), !is.na(incidents_12m) & !is.na(incidents_prev_12m)))
  numeric <- rows(numeric, stat_rows(dn, "ratio", NA, "svyratio", dsub,
                                     list(~incidents_12m, ~incidents_prev_12m), "incidents_12m/incidents_prev_12m"))
  numeric <- rows(numeric, quantile_rows(dn))
}

svyquantile_defaults <- list(
  function_used = "survey:::svyquantile.survey.design (survey >= 4.1; the old algorithm is oldsvyquantile)",
  interval.type = "mean", qrule = "math", alpha = 0.05, df = "degf(design)", se = "diff(ci) / (2 * qt(1 - alpha/2, df))",
  description = paste(
    "Defaults of svyquantile.survey.design in survey 4.1-1: interval.type = 'mean' (first element of",
    "c('mean','beta','xlogit','asin','score'); there is no 'mixed'), qrule = 'math', alpha = 0.05,",
    "df = degf(design). Let x_i, w_i be the values and sampling weights (1/prob) of the rows of the",
    "(subset) design, dropping rows with weight 0. (1) Point estimate, qrule 'math' (survey:::qrule_math",
    "via survey:::qs): sort x ascending (ties stay, each row separately), C_k = cumulative weight of the",
    "first k sorted rows (order() is stable, so tied rows keep row order), W = sum(w); pos = the largest k with C_k <= p*W, or pos = 1 if there is none;",
    "if p - C_pos/W == 0 exactly, Q(p) = x_(pos), otherwise Q(p) = x_(min(pos+1, n)). This is the",
    "smallest x with weighted CDF >= p, except that when p*W < C_1 R returns x_(2), not x_(1).",
    "(2) Woodruff interval (survey:::woodruffCI, method 'mean'): z_i = 1{x_i <= Q(p)}; m = svymean(z,",
    "design), i.e. the weighted share p_hat = sum(w z)/W (the CDF at Q(p), which is >= p, NOT p itself)",
    "with its usual linearization variance: u_i = w_i (z_i - p_hat) / W summed to PSU totals u_hj;",
    "Var = sum_h (1 - n_h/N_h) n_h/(n_h - 1) sum_j (u_hj - mean_j u_hj)^2, where n_h is the number of",
    "PSUs of stratum h in the FULL sample (a subset() of an uncalibrated design drops rows but keeps",
    "n_h, so PSUs without domain rows count as u_hj = 0), N_h the fpc (no (1 - n_h/N_h) without fpc);",
    "ids = ~1 makes each row a PSU and one stratum. (3) [p_L, p_U] = p_hat -/+ qt(1 - alpha/2, df) * SE(m), df = degf(design) = number of",
    "PSUs with nonzero weight minus number of strata with nonzero weight (qnorm if df = Inf).",
    "(4) Map back through the same empirical CDF with the same rule: lower = Q_math(p_L) if",
    "0 <= p_L (NaN if p_L < 0 or NaN), upper = Q_math(p_U) if p_U <= 1 (NaN if p_U > 1).",
    "(5) se = (upper - lower) / (2 * qt(1 - alpha/2, df)). With svyby, each group's design is",
    "design[group, ] and df = degf() of that group design; nothing else changes.")
)

# ==== 3. Contrasts on subset designs ===============================================================
contrast_rows <- function(dn, data, subset_expr, subset_label, byvar, pairs) {
  d0 <- bquote(subset(.(as.name(dn)), !is.na(answer) & .(subset_expr)))
  b_cl <- bquote(svyby(~as.numeric(answer == "yes"), ~.(as.name(byvar)), .(d0), svymean, covmat = TRUE))
  b <- run(b_cl)
  resp <- data[!is.na(data$answer) & eval(subset_expr, data), ]
  df <- degf(run(d0))
  out <- NULL
  for (pr in pairs) {
    from <- pr[1]; to <- pr[2]
    cl <- bquote(svycontrast(.(b_cl), quote(.(as.name(to)) - .(as.name(from)))))
    con <- run(cl)
    out <- rows(out, data.frame(design = dn, subset = subset_label, by = byvar, from = from, to = to,
                                estimate_from = coef(b)[[from]], estimate_to = coef(b)[[to]],
                                estimate = coef(con)[[1]], se = SE(con)[[1]], df = df,
                                n_from = sum(resp[[byvar]] == from), n_to = sum(resp[[byvar]] == to),
                                x_from = sum(resp[[byvar]] == from & resp$answer == "yes"),
                                x_to = sum(resp[[byvar]] == to & resp$answer == "yes"), r_call = txt(cl)))
  }
  out
}
region_pairs <- combn(sort(regions), 2, simplify = FALSE)    # (a, b) with a < b; contrast b - a
subset_contrasts <- NULL
for (dn in c("strat", "weighted", "srs")) {
  data <- list(strat = strat_df, weighted = wtd_df, srs = srs_df)[[dn]]
  subset_contrasts <- rows(subset_contrasts,
    contrast_rows(dn, data, quote(wave == "2016-12"), "wave == 2016-12", "region", region_pairs),
    contrast_rows(dn, data, quote(region %in% c("north", "west")), 'region %in% c("north", "west")', "wave",
                  list(c("2015-12", "2016-12"))))
}


# ==== Lonely PSUs: options(survey.lonely.psu = "average"); fpc without weights ===================
# "average" gives each single-PSU stratum the average variance contribution of the others (R's
# "remove" and "certainty" coincide for linearised variances, so only "average" is new here).
lonely_df <- read.csv(paste0(res, "survey_lonely_data.csv"), stringsAsFactors = FALSE)
options(survey.lonely.psu = "average")
lonely_avg <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = lonely_df)
m <- svymean(~as.numeric(answer == "yes"), lonely_avg)
b <- svyby(~as.numeric(answer == "yes"), ~region, lonely_avg, svymean)
lonely_average <- data.frame(region = c("", b$region), estimate = c(coef(m)[[1]], b[[2]]),
                             se = c(SE(m)[[1]], b$se),
                             r_call = 'options(survey.lonely.psu = "average"); svymean(~as.numeric(answer == "yes"), svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = lonely_df)) and svyby(..., ~region, ..., svymean)')
options(survey.lonely.psu = "fail")
# Without weights, svydesign takes the weights from fpc: N_h / n_h.
fpc_only <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, data = strat_df)
m <- svymean(~as.numeric(answer == "yes"), subset(fpc_only, !is.na(answer)))
fpc_without_weights <- list(estimate = coef(m)[[1]], se = SE(m)[[1]], weights = unname(weights(fpc_only)),
                            r_call = 'svymean(~as.numeric(answer == "yes"), subset(svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, data = strat_df), !is.na(answer)))')

# ==== Output ======================================================================================
out <- list(
  r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
  designs = design_calls, calibration_designs = calib_calls_txt,
  populations = list(pop_region = pop_region, pop_size = pop_size, pop_wave = pop_wave,
                     pop_totals = as.list(pop_totals), rake_control = ctl),
  calibrate_bounds = cal_bounds,
  calibrate_bounds_detail = list(
    lower = cal_bounds[1], upper = cal_bounds[2],
    relative_to = "weight_N = weight * 100000 / sum(weight) (weights of the weighted file scaled to the population total)",
    raw_g_lower = cal_bounds[1] * 100000 / sum(wtd_df$weight), raw_g_upper = cal_bounds[2] * 100000 / sum(wtd_df$weight),
    n_at_lower = tail(bounds_log$n_at_lower, 1), n_at_upper = tail(bounds_log$n_at_upper, 1),
    tried = bounds_log),
  calibration = calib, calibrated_weights = calibrated_weights,
  numeric = numeric, svyquantile_defaults = svyquantile_defaults,
  subset_contrasts = subset_contrasts,
  lonely_average = lonely_average, fpc_without_weights = fpc_without_weights
)
# na = "null": keep NA/NaN entries (e.g. quantile = NA on non-quantile rows) as JSON null instead of
# dropping the key from the record.
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), paste0(res, "design_reference.json"))
