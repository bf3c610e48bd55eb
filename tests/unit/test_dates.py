from datetime import date

from actions.dates import parse_date, part_of_day

TODAY = date(2026, 11, 27)   # a Friday


def test_relative_days():
    assert parse_date("明天上午去办", TODAY) == date(2026, 11, 28)
    assert parse_date("后天", TODAY) == date(2026, 11, 29)
    assert parse_date("大后天下午", TODAY) == date(2026, 11, 30)


def test_weekdays():
    assert parse_date("下周一", TODAY) == date(2026, 11, 30)
    assert parse_date("星期三", TODAY) == date(2026, 12, 2)
    assert parse_date("这周五", TODAY) == date(2026, 11, 27)


def test_absolute_dates_roll_into_next_year_when_past():
    assert parse_date("12月3号", TODAY) == date(2026, 12, 3)
    assert parse_date("1月5日", TODAY) == date(2027, 1, 5)
    assert parse_date("2026-12-01", TODAY) == date(2026, 12, 1)
    assert parse_date("2月30日", TODAY) is None
    assert parse_date("随便什么时候", TODAY) is None


def test_part_of_day():
    assert part_of_day("明天上午") == "morning" and part_of_day("下午两点") == "afternoon"
    assert part_of_day("明天") is None


def test_scene_dates_take_the_nearest_day_past_or_coming():
    # A birth or contract date: "11月1日" written on 27 November is this year's, not next year's.
    assert parse_date("11月1日", TODAY, nearest=True) == date(2026, 11, 1)
    assert parse_date("1月15号", TODAY, nearest=True) == date(2027, 1, 15)       # a due date soon
    assert parse_date("2026-11-01", TODAY, nearest=True) == date(2026, 11, 1)
    assert parse_date("2月30日", TODAY, nearest=True) is None
