/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#ifndef STICKYSYNC_EXPORT_H
#define STICKYSYNC_EXPORT_H

/* The library is built with -fvisibility=hidden; only the interposed names and
 * the stickysync_ API carry this. */
#define EXPORT __attribute__((visibility("default")))

#endif
