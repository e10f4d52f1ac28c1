#pragma once
/// @file
/// The umbrella header: everything public in chromawal.

#include <chromawal/chroma_client.hpp>
#include <chromawal/client.hpp>
#include <chromawal/error.hpp>
#include <chromawal/export.hpp>
#include <chromawal/filter.hpp>
#include <chromawal/log_copy.hpp>
#include <chromawal/options.hpp>
#include <chromawal/redact.hpp>
#include <chromawal/types.hpp>
#include <chromawal/verify.hpp>
#include <chromawal/version.hpp>
