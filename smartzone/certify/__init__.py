"""App certification pre-check: observe an app under test, put it through bad days, judge it, report."""
