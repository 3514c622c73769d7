-- TalkingData ad-fraud features (after OpenMLDB's TalkingData demo): how busy an ip, an
-- ip+app and an ip+app+os have been in the last hour and the last day, plus the hour of day.
SELECT
  ip, app, device, os, channel, click_time, is_attributed,
  hour(click_time) AS hour_of_click,
  count(*) OVER ip_1h AS ip_clicks_1h,
  count(*) OVER ip_1d AS ip_clicks_1d,
  distinct_count(app) OVER ip_1d AS ip_apps_1d,
  distinct_count(channel) OVER ip_1h AS ip_channels_1h,
  count(*) OVER ip_app_1h AS ip_app_clicks_1h,
  count(*) OVER ip_app_1d AS ip_app_clicks_1d,
  distinct_count(channel) OVER ip_app_1d AS ip_app_channels_1d,
  count(*) OVER ip_app_os_1h AS ip_app_os_clicks_1h,
  count(*) OVER ip_app_os_1d AS ip_app_os_clicks_1d,
  distinct_count(device) OVER ip_app_os_1d AS ip_app_os_devices_1d
FROM talkingdata
WINDOW
  ip_1h        AS (PARTITION BY ip ORDER BY click_time ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  ip_1d        AS (PARTITION BY ip ORDER BY click_time ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW),
  ip_app_1h    AS (PARTITION BY ip, app ORDER BY click_time ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  ip_app_1d    AS (PARTITION BY ip, app ORDER BY click_time ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW),
  ip_app_os_1h AS (PARTITION BY ip, app, os ORDER BY click_time
                   RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW),
  ip_app_os_1d AS (PARTITION BY ip, app, os ORDER BY click_time
                   RANGE BETWEEN INTERVAL '1' DAY PRECEDING AND CURRENT ROW)
