# Reference values for tests/test_design.py, test_proportions.py, test_crosstab.py, test_weighting.py.
# Run from the repository root:  Rscript tests/results/survey_reference.R
# R 4.x with survey 4.1-1 (r-cran-survey) and jsonlite. Writes the data sets it builds to
# tests/results/survey_*_data.csv so that Python reads exactly the same rows, and every result
# to tests/results/survey_reference.json (15 significant digits).
suppressMessages({library(survey); library(jsonlite)})
res <- "tests/results/"
set.seed(20160101)

# ---- Data -------------------------------------------------------------------------------
answers <- c("yes", "no", "dont_know")
regions <- c("north", "south", "east", "west")
make_answers <- function(n, region) {
  p_yes <- c(north = .55, south = .40, east = .30, west = .62)[region]
  u <- runif(n)
  a <- ifelse(u < p_yes, "yes", ifelse(u < p_yes + (1 - p_yes) * .7, "no", "dont_know"))
  a[runif(n) < .07] <- NA                                      # item non-response
  a
}
add_roles <- function(d) {
  asked <- !is.na(d$answer) & d$answer == "yes"                 # skip logic: asked only after "yes"
  for (r in c("ceo", "cfo", "hr")) {
    rate <- c(ceo = .7, cfo = .35, hr = .12)[r]
    v <- runif(nrow(d)) < rate
    v[!asked] <- NA
    d[[paste0("roles__", r)]] <- v
  }
  d
}

# Stratified two-stage-looking cluster sample, first stage with fpc (population PSUs per stratum).
psus <- c(3, 4, 2, 5); popsize <- c(10, 15, 6, 25)
strat <- NULL
for (h in 1:4) for (j in 1:psus[h]) {
  m <- sample(6:14, 1)
  region <- sample(regions, m, replace = TRUE, prob = list(c(4,3,2,1), c(1,4,3,2), c(2,2,4,2), c(1,1,2,6))[[h]])
  strat <- rbind(strat, data.frame(stratum = h, psu = paste0("h", h, "p", j), fpc = popsize[h],
                                   weight = round(popsize[h] / psus[h] * runif(m, 8, 30), 3),
                                   region = region, answer = make_answers(m, region),
                                   wave = sample(c("2015-12", "2016-12"), m, replace = TRUE)))
}
strat <- add_roles(strat)
write.csv(strat, paste0(res, "survey_strat_data.csv"), row.names = FALSE)

# Weighted unstratified sample (weights only) with raking variables.
n <- 400
wtd <- data.frame(region = sample(regions, n, replace = TRUE, prob = c(.4, .3, .2, .1)),
                  size = sample(c("small", "medium", "large"), n, replace = TRUE, prob = c(.5, .3, .2)),
                  wave = sample(c("2015-12", "2016-12"), n, replace = TRUE),
                  weight = round(exp(rnorm(n, 3, .5)), 4))
wtd$answer <- make_answers(n, wtd$region)
wtd <- add_roles(wtd)
write.csv(wtd, paste0(res, "survey_weighted_data.csv"), row.names = FALSE)

# Unweighted simple random sample.
n <- 150
srs <- data.frame(region = sample(regions, n, replace = TRUE), wave = sample(c("2015-12", "2016-12"), n, TRUE))
srs$answer <- make_answers(n, srs$region)
srs <- add_roles(srs)
write.csv(srs, paste0(res, "survey_srs_data.csv"), row.names = FALSE)

# A stratified design with a stratum holding a single PSU (stratum 3).
lonely <- NULL
for (h in 1:3) for (j in 1:c(3, 2, 1)[h]) {
  m <- sample(5:9, 1)
  lonely <- rbind(lonely, data.frame(stratum = h, psu = paste0("h", h, "p", j),
                                     weight = round(runif(m, 5, 20), 3),
                                     region = sample(regions[1:2], m, replace = TRUE),
                                     answer = sample(answers, m, replace = TRUE)))
}
write.csv(lonely, paste0(res, "survey_lonely_data.csv"), row.names = FALSE)

designs <- list(
  strat = svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = strat),
  weighted = svydesign(ids = ~1, weights = ~weight, data = wtd),
  srs = svydesign(ids = ~1, data = srs)
)

# ---- Proportions: svyciprop overall and svyby(..., svyciprop) by region ------------------
# Missing answers: the analysis design is subset(design, !is.na(answer)) (domain of respondents
# who answered), so denominators exclude non-response and degf() counts PSUs in that domain.
ci_rows <- function(des, dname, var, ind, indname) {
  out <- NULL
  d <- eval(bquote(subset(des, !is.na(.(as.name(var))))))
  f <- as.formula(paste0("~", ind))
  for (m in c("logit", "beta", "mean")) {
    ci <- svyciprop(f, d, method = m)
    out <- rbind(out, data.frame(design = dname, variable = var, category = indname, region = "", method = m,
                                 estimate = as.vector(ci), se = sqrt(as.vector(attr(ci, "var"))),
                                 ci_low = attr(ci, "ci")[1], ci_high = attr(ci, "ci")[2], df = degf(d)))
    by <- svyby(f, ~region, d, svyciprop, method = m, vartype = c("se", "ci"))
    dfs <- sapply(by$region, function(r) degf(subset(d, region == r)))
    out <- rbind(out, data.frame(design = dname, variable = var, category = indname, region = by$region,
                                 method = m, estimate = by[[2]], se = by$se, ci_low = by$ci_l,
                                 ci_high = by$ci_u, df = dfs))
  }
  out
}
deff_rows <- function(des, dname, var, ind, indname) {
  d <- eval(bquote(subset(des, !is.na(.(as.name(var))))))
  f <- as.formula(paste0("~as.numeric(", ind, ")"))
  one <- function(dd, region) {
    wor <- svymean(f, dd, deff = TRUE)
    rep <- svymean(f, dd, deff = "replace")
    data.frame(design = dname, variable = var, category = indname, region = region,
               estimate = coef(wor)[[1]], se = SE(wor)[[1]],
               deff = as.vector(deff(wor)), deff_replace = as.vector(deff(rep)))
  }
  out <- one(d, "")
  for (r in sort(unique(d$variables$region))) out <- rbind(out, suppressWarnings(one(subset(d, region == r), r)))
  out
}
intervals <- NULL; deffs <- NULL
for (dn in names(designs)) {
  for (a in answers) {
    ind <- sprintf('I(answer == "%s")', a)
    intervals <- rbind(intervals, ci_rows(designs[[dn]], dn, "answer", ind, a))
    deffs <- rbind(deffs, suppressWarnings(deff_rows(designs[[dn]], dn, "answer", ind, a)))
  }
  for (r in c("ceo", "cfo", "hr")) {
    v <- paste0("roles__", r)
    intervals <- rbind(intervals, ci_rows(designs[[dn]], dn, v, v, r))
  }
}
intervals$variable[startsWith(intervals$variable, "roles__")] <- "roles"
# level = 0.90 for one design, to check the level is honoured.
d90 <- subset(designs$strat, !is.na(answer))
level90 <- NULL
for (m in c("logit", "beta", "mean")) {
  ci <- svyciprop(~I(answer == "yes"), d90, method = m, level = 0.9)
  level90 <- rbind(level90, data.frame(method = m, ci_low = attr(ci, "ci")[1], ci_high = attr(ci, "ci")[2]))
}

# ---- Classical SRS intervals (unweighted) -------------------------------------------------
# Wilson: prop.test(x, n, correct = FALSE); Clopper-Pearson: binom.test(x, n);
# Jeffreys: qbeta(c(a/2, 1-a/2), x + 1/2, n - x + 1/2).
srs_ok <- srs[!is.na(srs$answer), ]
classic <- NULL
for (a in answers) {
  x <- sum(srs_ok$answer == a); nn <- nrow(srs_ok)
  w <- prop.test(x, nn, correct = FALSE)$conf.int
  cp <- binom.test(x, nn)$conf.int
  jf <- qbeta(c(.025, .975), x + .5, nn - x + .5)
  classic <- rbind(classic, data.frame(category = a, x = x, n = nn, method = c("wilson", "clopper-pearson", "jeffreys"),
                                       ci_low = c(w[1], cp[1], jf[1]), ci_high = c(w[2], cp[2], jf[2])))
}

# ---- Rao-Scott tests: svychisq(~region + answer, design, statistic = "F" / "Chisq") -------
chisq <- NULL
for (dn in names(designs)) {
  d <- subset(designs[[dn]], !is.na(answer))
  f <- svychisq(~region + answer, d, statistic = "F")
  c1 <- svychisq(~region + answer, d, statistic = "Chisq")
  chisq <- rbind(chisq, data.frame(design = dn, f = unname(f$statistic), ndf = unname(f$parameter[1]),
                                   ddf = unname(f$parameter[2]), p_f = f$p.value,
                                   pearson = unname(c1$statistic), p_chisq = c1$p.value))
}

# ---- Change between waves and pairwise regional differences: svyby(covmat = TRUE) + svycontrast
change <- NULL; pairwise <- NULL
for (dn in names(designs)) {
  d <- subset(designs[[dn]], !is.na(answer))
  b <- svyby(~as.numeric(answer == "yes"), ~wave, d, svymean, covmat = TRUE)
  dif <- svycontrast(b, quote(`2016-12` - `2015-12`))
  rat <- svycontrast(b, quote(`2016-12` / `2015-12`))
  lrat <- svycontrast(b, quote(log(`2016-12` / `2015-12`)))
  change <- rbind(change, data.frame(design = dn, category = "yes", p_from = coef(b)[["2015-12"]],
                                     p_to = coef(b)[["2016-12"]], diff = coef(dif)[[1]], diff_se = SE(dif)[[1]],
                                     ratio = coef(rat)[[1]], ratio_se = SE(rat)[[1]], log_ratio_se = SE(lrat)[[1]],
                                     df = degf(d)))
  br <- svyby(~as.numeric(answer == "yes"), ~region, d, svymean, covmat = TRUE)
  lv <- names(coef(br))
  for (i in 1:(length(lv) - 1)) for (j in (i + 1):length(lv)) {
    con <- svycontrast(br, parse(text = sprintf("`%s` - `%s`", lv[i], lv[j]))[[1]])
    pairwise <- rbind(pairwise, data.frame(design = dn, level_a = lv[i], level_b = lv[j],
                                           diff = coef(con)[[1]], se = SE(con)[[1]]))
  }
}

# ---- Crosstab cells: svytotal(~interaction(region, answer)) and svymean of the same ---------
cells <- NULL
for (dn in names(designs)) {
  d <- subset(designs[[dn]], !is.na(answer))
  tt <- svytotal(~interaction(region, answer), d)
  mm <- svymean(~interaction(region, answer), d)
  nm <- sub("interaction\\(region, answer\\)", "", names(coef(tt)))
  cells <- rbind(cells, data.frame(design = dn, region = sub("\\..*", "", nm), answer = sub("^[^.]*\\.", "", nm),
                                   total = coef(tt), total_se = SE(tt), share = coef(mm), share_se = SE(mm)))
}

# ---- Lonely PSU: options(survey.lonely.psu = "adjust" / "certainty") -------------------------
lonely_out <- NULL
for (opt in c("adjust", "certainty")) {
  options(survey.lonely.psu = opt)
  d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = lonely)
  m <- svymean(~as.numeric(answer == "yes"), d)
  by <- svyby(~as.numeric(answer == "yes"), ~region, d, svymean)
  lonely_out <- rbind(lonely_out, data.frame(lonely_psu = opt, region = c("", by$region),
                                             estimate = c(coef(m)[[1]], by[[2]]), se = c(SE(m)[[1]], by$se)))
}
options(survey.lonely.psu = "fail")

# ---- Weighting: rake and postStratify on the weighted sample ------------------------------
pop_region <- data.frame(region = regions, Freq = c(30000, 25000, 25000, 20000))
pop_size <- data.frame(size = c("small", "medium", "large"), Freq = c(70000, 20000, 10000))
ctl <- list(maxit = 200, epsilon = 1e-9)
raked <- rake(designs$weighted, list(~region, ~size), list(pop_region, pop_size), control = ctl)
raked_unw <- rake(svydesign(ids = ~1, weights = ~rep(1, nrow(wtd)), data = wtd), list(~region, ~size),
                  list(pop_region, pop_size), control = ctl)
ps <- postStratify(designs$weighted, ~region, pop_region)
kish <- function(w) sum(w)^2 / sum(w^2)
weighting <- list(raked = unname(weights(raked)), raked_from_unit = unname(weights(raked_unw)),
                  poststratified = unname(weights(ps)), kish_n = kish(wtd$weight))

out <- list(
  r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
  intervals = intervals, deff = deffs, level90 = level90, classic = classic, chisq = chisq,
  change = change, pairwise = pairwise, cells = cells, lonely = lonely_out, weighting = weighting
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), paste0(res, "survey_reference.json"))
