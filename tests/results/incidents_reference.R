# Reference values for tests/test_durations.py and tests/test_growth.py.
# Run from the repository root:  Rscript tests/results/incidents_reference.R
# R 4.x with survival, survey and MASS (r-base, r-recommended, r-cran-survey).
library(survival)
library(survey)
library(MASS)
res <- "tests/results/"

# Kaplan-Meier quantiles: quantile(survfit(Surv(time, status) ~ 1, conf.type = ct), c(.5, .9))
km <- read.csv(paste0(res, "incidents_km_data.csv"))
out <- NULL
for (ds in unique(km$dataset)) for (ct in c("log", "log-log", "plain")) {
  d <- km[km$dataset == ds, ]
  fit <- survfit(Surv(time, status) ~ 1, data = d, conf.type = ct)
  q <- quantile(fit, c(.5, .9))
  out <- rbind(out, data.frame(dataset = ds, conf_type = ct, quantile = c(.5, .9),
                               estimate = q$quantile, ci_low = q$lower, ci_high = q$upper))
}
write.csv(out, paste0(res, "incidents_km_reference.csv"), row.names = FALSE)

# Exact conditional rate ratio: poisson.test(c(x1, x0), c(e1, e0)) (binom.test given the total)
cases <- data.frame(x1 = c(0, 5, 3, 12, 0), e1 = c(1, 1, 2.5, 365, 1), x0 = c(5, 0, 7, 4, 0), e0 = c(1, 1, 1, 366, 1))
pt <- NULL
for (i in seq_len(nrow(cases))) {
  r <- cases[i, ]
  if (r$x1 + r$x0 == 0) next
  t <- poisson.test(c(r$x1, r$x0), c(r$e1, r$e0))
  pt <- rbind(pt, data.frame(r, estimate = unname(t$estimate), ci_low = t$conf.int[1],
                             ci_high = t$conf.int[2], p_value = t$p.value))
}
write.csv(pt, paste0(res, "incidents_poisson_exact_reference.csv"), row.names = FALSE)

# Monthly trend: glm(count ~ t + offset(log(days))) Poisson and quasi-Poisson, glm.nb (MASS);
# Wald intervals on the slope (confint.default), annual growth = exp(slope) - 1.
tr <- read.csv(paste0(res, "incidents_trend_data.csv"))
fits <- list(
  poisson = glm(count ~ t + offset(log(days)), family = poisson, data = tr),
  quasi_poisson = glm(count ~ t + offset(log(days)), family = quasipoisson, data = tr),
  negative_binomial = glm.nb(count ~ t + offset(log(days)), data = tr)
)
trend <- NULL
for (m in names(fits)) {
  f <- fits[[m]]
  ci <- confint.default(f)["t", ]
  trend <- rbind(trend, data.frame(model = m, slope = coef(f)["t"],
                                   se = sqrt(vcov(f)["t", "t"]), ci_low = ci[1], ci_high = ci[2],
                                   theta = if (m == "negative_binomial") f$theta else NA))
}
pearson <- sum(residuals(fits$poisson, type = "pearson")^2)
trend$dispersion <- pearson / df.residual(fits$poisson)
write.csv(trend, paste0(res, "incidents_trend_reference.csv"), row.names = FALSE)

# Survey ratio of weighted totals: svyratio with a weights-only design (linearisation SE).
sv <- read.csv(paste0(res, "incidents_survey_data.csv"))
des <- svydesign(ids = ~1, weights = ~weight, data = sv)
r <- svyratio(~incidents_12m, ~incidents_prev_12m, des)
unw <- svyratio(~incidents_12m, ~incidents_prev_12m, svydesign(ids = ~1, data = sv))
write.csv(data.frame(design = c("weighted", "unweighted"),
                     ratio = c(coef(r), coef(unw)), se = c(SE(r), SE(unw))),
          paste0(res, "incidents_survey_reference.csv"), row.names = FALSE)
