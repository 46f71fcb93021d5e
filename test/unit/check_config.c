/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <string.h>

#include "config.h"
#include "suites.h"

/* A tiny fake environment. */
static const char *env[16][2];

static const char *fake_get(const char *name)
{
	for (int i = 0; env[i][0]; i++)
		if (strcmp(env[i][0], name) == 0)
			return env[i][1];
	return NULL;
}

static void set_env(int i, const char *name, const char *value)
{
	env[i][0] = name;
	env[i][1] = value;
	env[i + 1][0] = NULL;
}

static struct options o;

START_TEST(defaults_for_a_user)
{
	set_env(0, "HOME", "/home/u");
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.policy, POLICY_STICKY);
	ck_assert_int_eq(o.state_mode, STATE_DIR);
	ck_assert_str_eq(o.state_dir, "/home/u/.local/state/stickysync");
	ck_assert_int_eq(o.log_mode, LOG_STDERR);
	ck_assert_uint_eq(o.state_capacity, CONFIG_DEFAULT_CAPACITY);
	ck_assert_int_eq(o.nmsg, 0);
}
END_TEST

START_TEST(defaults_for_root_and_xdg)
{
	set_env(0, "HOME", "/root");
	config_load(&o, fake_get, true);
	ck_assert_str_eq(o.state_dir, "/var/lib/stickysync");
	set_env(0, "XDG_STATE_HOME", "/x/state");
	config_load(&o, fake_get, false);
	ck_assert_str_eq(o.state_dir, "/x/state/stickysync");
}
END_TEST

START_TEST(no_home_means_in_process)
{
	env[0][0] = NULL;
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.state_mode, STATE_OFF);
	ck_assert_int_eq(o.nmsg, 1);
	ck_assert_ptr_nonnull(strstr(o.msg[0], "HOME"));
}
END_TEST

START_TEST(every_value_parsed)
{
	set_env(0, "STICKYSYNC_POLICY", "failstop");
	set_env(1, "STICKYSYNC_STATE", "/s");
	set_env(2, "STICKYSYNC_LOG", "/var/log/ss.log");
	set_env(3, "STICKYSYNC_INJECT", "op=fsync");
	set_env(4, "STICKYSYNC_STATE_CAPACITY", "64");
	set_env(5, "STICKYSYNC_INJECT_MEMORY", "1000");
	set_env(6, "TMPDIR", "/scratch");
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.policy, POLICY_FAILSTOP);
	ck_assert_str_eq(o.state_dir, "/s");
	ck_assert_int_eq(o.log_mode, LOG_FILE);
	ck_assert_str_eq(o.log_path, "/var/log/ss.log");
	ck_assert_str_eq(o.inject, "op=fsync");
	ck_assert_uint_eq(o.state_capacity, 64);
	ck_assert_uint_eq(o.inject_memory, 1000);
	ck_assert_str_eq(o.tmpdir, "/scratch");
	ck_assert_int_eq(o.nmsg, 0);
	set_env(0, "STICKYSYNC_POLICY", "observe");
	set_env(1, "STICKYSYNC_STATE", "off");
	set_env(2, "STICKYSYNC_LOG", "syslog");
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.policy, POLICY_OBSERVE);
	ck_assert_int_eq(o.state_mode, STATE_OFF);
	ck_assert_int_eq(o.log_mode, LOG_SYSLOG);
}
END_TEST

START_TEST(malformed_values_fall_back_safely_and_are_named)
{
	static const char *const vars[] = {"STICKYSYNC_POLICY", "STICKYSYNC_STATE",
					   "STICKYSYNC_STATE_CAPACITY", "STICKYSYNC_LOG",
					   "STICKYSYNC_INJECT_MEMORY"};

	set_env(0, "HOME", "/h");
	set_env(1, "STICKYSYNC_POLICY", "STICKY");
	set_env(2, "STICKYSYNC_STATE", "rel");
	set_env(3, "STICKYSYNC_LOG", "file.log");
	set_env(4, "STICKYSYNC_STATE_CAPACITY", "100");
	set_env(5, "STICKYSYNC_INJECT_MEMORY", "-5");
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.policy, POLICY_STICKY);
	ck_assert_int_eq(o.state_mode, STATE_OFF);
	ck_assert_int_eq(o.log_mode, LOG_STDERR);
	ck_assert_uint_eq(o.state_capacity, CONFIG_DEFAULT_CAPACITY);
	ck_assert_int_eq(o.nmsg, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_ptr_nonnull(strstr(o.msg[i], vars[i]));
		ck_assert_ptr_null(strchr(o.msg[i], '\n'));
	}
}
END_TEST

START_TEST(overlong_values_are_refused)
{
	static char big[8192];

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	set_env(0, "STICKYSYNC_STATE", big);
	set_env(1, "STICKYSYNC_INJECT", big);
	config_load(&o, fake_get, false);
	ck_assert_int_eq(o.state_mode, STATE_OFF);
	ck_assert_str_eq(o.inject, "");
	ck_assert_int_eq(o.nmsg, 2);
}
END_TEST

START_TEST(xattr_on_off_and_malformed)
{
	set_env(0, "HOME", "/home/u");
	config_load(&o, fake_get, false);
	ck_assert(o.xattr);
	set_env(1, "STICKYSYNC_XATTR", "off");
	config_load(&o, fake_get, false);
	ck_assert(!o.xattr);
	ck_assert_int_eq(o.nmsg, 0);
	set_env(1, "STICKYSYNC_XATTR", "on");
	config_load(&o, fake_get, false);
	ck_assert(o.xattr);
	set_env(1, "STICKYSYNC_XATTR", "no");
	config_load(&o, fake_get, false);
	ck_assert(o.xattr); /* the safe side: latches are recorded and honoured */
	ck_assert_int_eq(o.nmsg, 1);
	ck_assert_str_eq(o.msg[0], "STICKYSYNC_XATTR=\"no\" is not on or off; latches are recorded "
				   "on the files and honoured there (on)");
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_for_a_user);
	tcase_add_test(tc, defaults_for_root_and_xdg);
	tcase_add_test(tc, no_home_means_in_process);
	tcase_add_test(tc, every_value_parsed);
	tcase_add_test(tc, malformed_values_fall_back_safely_and_are_named);
	tcase_add_test(tc, overlong_values_are_refused);
	tcase_add_test(tc, xattr_on_off_and_malformed);
	suite_add_tcase(s, tc);
	return s;
}
