//! Every case of the suite, in report order.

mod batch;
mod conditions;
mod errors;
mod items;
mod limits;
mod query;
mod scan;
mod transact;
mod update;
mod values;

use portico_conformance::{Case, case};

/// The cases, grouped by area.
pub fn all() -> Vec<Case> {
    vec![
        case!(items::round_trip, [Simple]),
        case!(items::get_projection, [Simple]),
        case!(items::put_return_values, [Simple]),
        case!(items::delete_return_values, [Simple]),
        case!(items::put_conditions, [Simple]),
        case!(items::delete_conditions, [Simple]),
        case!(update::update_return_values, [Simple]),
        case!(update::update_nested_return_values, [Simple]),
        case!(update::update_set_remove_paths, [Simple]),
        case!(update::update_functions, [Simple]),
        case!(update::update_add_delete, [Simple]),
        case!(update::update_upsert, [NumSorted]),
        case!(update::update_refused, [NumSorted]),
        case!(update::update_conditions, [Simple]),
        case!(conditions::condition_functions, [Simple]),
        case!(conditions::condition_operators, [Simple]),
        case!(conditions::condition_on_missing_item, [Simple]),
        case!(conditions::condition_refused, [Simple]),
        case!(values::numbers_exact, [Simple]),
        case!(values::numbers_arithmetic_limits, [Simple]),
        case!(values::numbers_as_sort_keys, [NumSorted]),
        case!(values::binary_values, [Simple, BinSorted]),
        case!(values::set_values, [Simple]),
        case!(values::empty_values, [NumSorted, StrSorted, BinSorted]),
        case!(values::key_validation, [NumSorted]),
        case!(query::query_order_strings, [StrSorted]),
        case!(query::query_key_conditions, [NumSorted, StrSorted]),
        case!(query::query_key_conditions_refused, [NumSorted]),
        case!(query::query_paging, [NumSorted]),
        case!(query::query_limit_before_filter, [NumSorted]),
        case!(query::query_count, [NumSorted]),
        case!(query::query_projection_filter, [NumSorted]),
        case!(query::gsi_query, [NumSorted]),
        case!(query::lsi_query, [NumSorted]),
        case!(scan::scan_filter_paging, [Simple]),
        case!(scan::scan_parallel_segments, [Simple]),
        case!(scan::scan_index, [NumSorted]),
        case!(batch::batch_get_basic, [Simple, StrSorted]),
        case!(batch::batch_get_limits, [Simple]),
        case!(batch::batch_write_basic, [Simple, StrSorted]),
        case!(batch::batch_unprocessed_retry, [Simple, StrSorted]),
        case!(transact::transact_get, [Simple, StrSorted]),
        case!(transact::transact_write_commit, [Simple, StrSorted]),
        case!(transact::transact_write_cancel, [Simple]),
        case!(transact::transact_write_refused, [Simple, StrSorted]),
        case!(transact::transact_write_idempotent, [Simple]),
        case!(limits::item_size_limit, [Simple]),
        case!(limits::key_size_limits, [StrSorted, BinSorted]),
        case!(limits::index_key_size_limits, [NumSorted]),
        case!(limits::ttl_expiry, [Ttl]),
        case!(errors::expression_errors, [Simple]),
        case!(errors::unknown_table, [Simple]),
    ]
}
