"""Publishing: charts, workbooks and reports drawn from result frames only."""
