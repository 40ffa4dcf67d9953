# Reference values for the overdispersion-aware growth intervals in tests/test_growth.py.
# Run from the repository root:  Rscript tests/results/incidents_yoy_reference.R
# R 4.x, base packages only. Writes incidents_yoy_steady_data.csv and incidents_yoy_reference.csv.
#
# Each case compares two counts x1 (exposure e1) and x0 (exposure e0). The dispersion phi is
# the quasi-Poisson dispersion of glm(count ~ window, family = quasipoisson) (IRLS run to
# 1e-14) over the monthly counts of two 12-month windows (Pearson chi-square / df.residual),
# the Pearson test
# pchisq(phi * df, df, lower.tail = FALSE). The interval for the rate ratio R solves, by
# uniroot, |S(R)| / sqrt(phi) = qt(1 - a/2, df) (quasi-Poisson, used when that is the wider:
# qt(1 - a/2, df)^2 * phi > qnorm(1 - a/2)^2) or |S(R)| = qnorm(1 - a/2) (Poisson score),
# with S the score statistic of Gu, Ng, Tang and Schucany (2008) written out
# below from the restricted maximum likelihood rates, not from the closed form surveykit uses.
res <- "tests/results/"

score_stat <- function(R0, x1, e1, x0, e0) {
  r0 <- (x1 + x0) / (e1 * R0 + e0)  # restricted MLE of the previous rate under R = R0
  r1 <- R0 * r0
  (x1 / e1 - R0 * x0 / e0) / sqrt(r1 / e1 + R0^2 * r0 / e0)
}

interval <- function(x1, e1, x0, e0, crit, phi) {
  f <- function(logR, side) score_stat(exp(logR), x1, e1, x0, e0) / sqrt(phi) - side * crit
  est <- log((x1 / e1) / (x0 / e0))
  lo <- uniroot(f, c(est - 10, est), side = 1, tol = 1e-14)$root
  hi <- uniroot(f, c(est, est + 10), side = -1, tol = 1e-14)$root
  exp(c(lo, hi))
}

dispersion <- function(months) {
  fit <- glm(count ~ factor(window), family = quasipoisson, data = months,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  # summary(fit)$dispersion, but from the final fitted values: summary.glm uses the working
  # weights of the last IRLS step, one update behind (a 1e-8 relative difference).
  phi <- sum(residuals(fit, type = "pearson")^2) / df.residual(fit)
  df <- df.residual(fit)
  c(phi = phi, df = df, p = pchisq(phi * df, df, lower.tail = FALSE))
}

one_case <- function(case, period, start, end, months, x1, e1, x0, e0, level, years = 1) {
  d <- dispersion(months)
  a <- 1 - level
  # yoy_growth(method = "auto"): quasi-Poisson when it gives the wider interval
  quasi <- qt(1 - a / 2, d[["df"]])^2 * d[["phi"]] > qnorm(1 - a / 2)^2
  crit <- if (quasi) qt(1 - a / 2, d[["df"]]) else qnorm(1 - a / 2)
  phi <- if (quasi) d[["phi"]] else 1
  ci <- interval(x1, e1, x0, e0, crit, phi)
  stat <- score_stat(1, x1, e1, x0, e0) / sqrt(phi)
  p <- if (quasi) 2 * pt(-abs(stat), d[["df"]]) else 2 * pnorm(-abs(stat))
  ratio <- (x1 / e1) / (x0 / e0)
  data.frame(case = case, period = period, start = start, end = end, level = level,
             x1 = x1, e1 = e1, x0 = x0, e0 = e0, years = years,
             dispersion = d[["phi"]], dispersion_df = d[["df"]], dispersion_p_value = d[["p"]],
             method = if (quasi) "quasi-poisson score" else "score",
             rate_ratio = ratio, estimate = ratio^(1 / years) - 1,
             ci_low = ci[1]^(1 / years) - 1, ci_high = ci[2]^(1 / years) - 1, p_value = p)
}

# The demo log's monthly counts: incident_counts(demo_incidents(seed = 2016), "month").
demo <- read.csv(paste0(res, "incidents_trend_data.csv"))
demo$year <- as.integer(substr(demo$period, 1, 4))
demo$month <- as.integer(substr(demo$period, 6, 7))
total <- function(d, y, m = 1:12) sum(d$count[d$year == y & d$month %in% m])
years_window <- function(d, a, b) {  # calendar years a and b as the two windows
  w <- d[d$year %in% c(a, b), ]
  w$window <- w$year
  w
}

# Steady counts: Poisson, and underdispersed by chance (phi = 0.69), so "auto" keeps the
# score interval.
set.seed(2016)
steady <- data.frame(year = rep(c(2015L, 2016L), each = 12), month = rep(1:12, 2),
                     count = c(rpois(12, 50), rpois(12, 58)))
write.csv(steady, paste0(res, "incidents_yoy_steady_data.csv"), row.names = FALSE)

# 2016-Q1 against 2015-Q1: windows are the 12 months ending with each quarter's last month.
q_months <- demo[(demo$year == 2014 & demo$month >= 4) | demo$year == 2015 |
                   (demo$year == 2016 & demo$month <= 3), ]
q_months$window <- ifelse(q_months$year * 12 + q_months$month <= 2015 * 12 + 3, "first", "second")

out <- rbind(
  # yoy_growth(demo_incidents(seed = 2016))
  one_case("demo", "2015", 2014, 2015, years_window(demo, 2014, 2015),
           total(demo, 2015), 1, total(demo, 2014), 1, 0.95),
  one_case("demo", "2016", 2015, 2016, years_window(demo, 2015, 2016),
           total(demo, 2016), 1, total(demo, 2015), 1, 0.95),
  # yoy_growth(demo_incidents(seed = 2016), exposure = "days", level = 0.90)
  one_case("demo_days_90", "2016", 2015, 2016, years_window(demo, 2015, 2016),
           total(demo, 2016), 366, total(demo, 2015), 365, 0.90),
  # yoy_growth(demo_incidents(seed = 2016), period = "quarter"), row 2016-Q1
  one_case("demo_quarter", "2016-Q1", 2015, 2016, q_months,
           total(demo, 2016, 1:3), 1, total(demo, 2015, 1:3), 1, 0.95),
  # cagr(demo_incidents(seed = 2016)): 2014 to 2016, dispersion from those two years
  one_case("demo_cagr", "", 2014, 2016, years_window(demo, 2014, 2016),
           total(demo, 2016), 1, total(demo, 2014), 1, 0.95, years = 2),
  # yoy_growth(log of the steady counts)
  one_case("steady", "2016", 2015, 2016, within(steady, window <- year),
           total(steady, 2016), 1, total(steady, 2015), 1, 0.95)
)
write.csv(out, paste0(res, "incidents_yoy_reference.csv"), row.names = FALSE)
print(out)
