# Reference values for the fitted monthly trend in tests/test_trend.py (surveykit.trend_line).
# Run from the repository root:  Rscript tests/results/incidents_trend_line_reference.R
# R 4.x with MASS (r-base, r-recommended). The data are those of incidents_reference.R:
# incident_counts(demo_incidents(seed=2016), "month") with t in years and the month's days.
library(MASS)
res <- "tests/results/"
tr <- read.csv(paste0(res, "incidents_trend_data.csv"))
fits <- list(
  poisson = glm(count ~ t + offset(log(days)), family = poisson, data = tr),
  quasi_poisson = glm(count ~ t + offset(log(days)), family = quasipoisson, data = tr),
  # Tight convergence, so the reference carries more digits than the comparison needs.
  negative_binomial = glm.nb(count ~ t + offset(log(days)), data = tr,
                             control = glm.control(epsilon = 1e-12, maxit = 100))
)
out <- NULL
for (m in names(fits)) {
  # The fitted mean on the link scale with its standard error (offset included).
  p <- predict(fits[[m]], se.fit = TRUE, type = "link")
  out <- rbind(out, data.frame(model = m, period = tr$period, link = unname(p$fit),
                               se_link = unname(p$se.fit)))
}
write.csv(out, paste0(res, "incidents_trend_line_reference.csv"), row.names = FALSE)
