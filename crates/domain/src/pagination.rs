//! List requests and pages: page numbers, keyset cursors, sorting and search.

use std::fmt::Write as _;

use serde::Serialize;

use crate::error::{DomainError, FieldError, Validation};

/// The order of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest (newest) first: the default.
    #[default]
    Desc,
}

impl SortDirection {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PagePosition {
    /// A 1-based page number (offset pagination).
    Number(u64),
    /// Just after the row a cursor names (keyset pagination).
    After(Cursor),
}

/// The fields a list can be sorted by (its `sortBy`): an enum per list, declared
/// with [`sort_by!`](crate::sort_by), parsed once here. The first value is the
/// default.
pub trait SortField: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// The default order (`createdAt` for every list so far).
    const DEFAULT: Self;
    /// Every client spelling, the default first.
    const NAMES: &'static [&'static str];
    /// The value a client spelling names, if any.
    fn parse(raw: &str) -> Option<Self>;
    /// The client spelling.
    fn as_str(self) -> &'static str;
}

/// Declares a list's `sortBy` enum: its variants with their client spellings,
/// the first one the default. It is a text enum (see `text_enum!`) that
/// also implements [`SortField`].
///
/// ```
/// domain::sort_by! {
///     /// `sortBy` of a list of things.
///     ThingSort {
///         /// Creation time (the default).
///         CreatedAt => "createdAt",
///         /// Name, alphabetically.
///         Name => "name",
///     }
/// }
/// use domain::pagination::SortField;
/// assert_eq!(ThingSort::DEFAULT, ThingSort::CreatedAt);
/// assert_eq!(ThingSort::parse("name"), Some(ThingSort::Name));
/// ```
#[macro_export]
macro_rules! sort_by {
    ($(#[$doc:meta])* $name:ident {
        $(#[$fdoc:meta])* $first:ident => $first_text:literal
        $(, $(#[$vdoc:meta])* $variant:ident => $text:literal)* $(,)?
    }) => {
        $crate::text_enum! {
            $(#[$doc])*
            $name {
                $(#[$fdoc])* $first => $first_text
                $(, $(#[$vdoc])* $variant => $text)*
            }
        }

        impl $crate::pagination::SortField for $name {
            const DEFAULT: Self = Self::$first;
            const NAMES: &'static [&'static str] = Self::ALL;

            fn parse(raw: &str) -> Option<Self> {
                raw.parse().ok()
            }

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }
    };
}

/// A validated list request, sorted by one of the list's [`SortField`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest<S> {
    /// Where the page starts.
    pub position: PagePosition,
    /// Rows per page, 1..=100.
    pub page_size: u64,
    /// The field to sort by.
    pub sort_by: S,
    /// The order.
    pub direction: SortDirection,
    /// A case-insensitive, literal substring to search for.
    pub search: Option<String>,
}

/// A list request as it arrives, before validation: its query parameters as
/// text (camelCase), so every rule is checked and reported by [`PageRequest::parse`].
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPageRequest {
    /// `page`
    pub page: Option<String>,
    /// `pageSize`
    pub page_size: Option<String>,
    /// `sortBy`
    pub sort_by: Option<String>,
    /// `sortDirection`
    pub sort_direction: Option<String>,
    /// `searchQuery`
    pub search_query: Option<String>,
    /// `cursor`
    pub cursor: Option<String>,
}

impl<S: SortField> PageRequest<S> {
    /// The default page size.
    pub const DEFAULT_PAGE_SIZE: u64 = 10;
    /// The largest page size.
    pub const MAX_PAGE_SIZE: u64 = 100;
    /// The deepest a page number may reach: `page × pageSize` at most this
    /// (an offset past it is slow to serve, and past `i64::MAX` it cannot even
    /// be written into SQL); the cursor goes on from anywhere.
    pub const MAX_PAGE_DEPTH: u64 = 1_000_000;
    /// The longest `searchQuery`, in characters (a pattern's length is bounded:
    /// SQLite refuses a `LIKE` pattern over 50,000 bytes).
    pub const MAX_SEARCH_CHARS: usize = 200;

    /// Validates a raw request; `sortBy` must name one of `S`'s fields (default
    /// [`SortField::DEFAULT`]). Every broken rule is reported; `page` with
    /// `cursor` is an error.
    pub fn parse(raw: &RawPageRequest) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let page = match raw.page.as_deref() {
            None => Some(1),
            Some(p) => match p.parse::<u64>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    v.push(FieldError::new(
                        "page",
                        "OUT_OF_RANGE",
                        "page must be an integer >= 1",
                    ));
                    None
                }
            },
        };
        let page_size = match raw.page_size.as_deref() {
            None => Some(Self::DEFAULT_PAGE_SIZE),
            Some(p) => match p.parse::<u64>() {
                Ok(n) if (1..=Self::MAX_PAGE_SIZE).contains(&n) => Some(n),
                _ => {
                    v.push(FieldError::new(
                        "pageSize",
                        "OUT_OF_RANGE",
                        format!(
                            "pageSize must be an integer from 1 to {}",
                            Self::MAX_PAGE_SIZE
                        ),
                    ));
                    None
                }
            },
        };
        let sort_by = match raw.sort_by.as_deref() {
            None => Some(S::DEFAULT),
            Some(s) => {
                let found = S::parse(s);
                if found.is_none() {
                    v.push(FieldError::new(
                        "sortBy",
                        "INVALID_VALUE",
                        format!("sortBy must be one of: {}", S::NAMES.join(", ")),
                    ));
                }
                found
            }
        };
        let direction = match raw.sort_direction.as_deref() {
            None => Some(SortDirection::Desc),
            Some(d) => {
                let parsed = SortDirection::parse(d);
                if parsed.is_none() {
                    v.push(FieldError::new(
                        "sortDirection",
                        "INVALID_VALUE",
                        "sortDirection must be asc or desc",
                    ));
                }
                parsed
            }
        };
        let position = match (raw.page.is_some(), raw.cursor.as_deref()) {
            (true, Some(_)) => {
                v.push(FieldError::new(
                    "cursor",
                    "CONFLICTING_PARAMETERS",
                    "give either page or cursor, not both",
                ));
                None
            }
            (_, Some(c)) => v
                .check("cursor", Cursor::decode(c))
                .map(PagePosition::After),
            (_, None) => page.map(PagePosition::Number),
        };
        if let (Some(page), Some(size)) = (page, page_size)
            && raw.cursor.is_none()
            && page.saturating_mul(size) > Self::MAX_PAGE_DEPTH
        {
            v.push(FieldError::new(
                "page",
                "OUT_OF_RANGE",
                format!(
                    "page × pageSize must be at most {}; use the cursor to go further",
                    Self::MAX_PAGE_DEPTH
                ),
            ));
        }
        let search = raw
            .search_query
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > Self::MAX_SEARCH_CHARS) {
            v.push(FieldError::new(
                "searchQuery",
                "TOO_LONG",
                format!(
                    "searchQuery must be at most {} characters",
                    Self::MAX_SEARCH_CHARS
                ),
            ));
        }
        let search = search.map(str::to_owned);
        let (((position, page_size), sort_by), direction) =
            v.finish(position.zip(page_size).zip(sort_by).zip(direction))?;
        Ok(Self {
            position,
            page_size,
            sort_by,
            direction,
            search,
        })
    }
}

/// Why a cursor string is not one this service handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not valid")]
pub struct CursorError;

impl crate::error::FieldErrorCode for CursorError {
    fn code(&self) -> &'static str {
        "INVALID_CURSOR"
    }
}

/// An opaque keyset position: the sort key and the ID of the last row of a page.
/// Clients treat it as an opaque string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's value of the sort field, as text.
    pub key: String,
    /// The last row's ID, as text (the tie-breaker).
    pub id: String,
}

impl Cursor {
    const VERSION: &'static str = "v1";

    /// A cursor after the row with this sort key and ID.
    pub fn new(key: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            id: id.into(),
        }
    }

    /// The opaque string form (hex of `v1 \n key \n id`).
    pub fn encode(&self) -> String {
        let plain = format!("{}\n{}\n{}", Self::VERSION, self.key, self.id);
        plain
            .bytes()
            .fold(String::with_capacity(plain.len() * 2), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })
    }

    /// Parses a string made by [`Cursor::encode`].
    pub fn decode(raw: &str) -> Result<Self, CursorError> {
        if !raw.len().is_multiple_of(2) || raw.len() > 2048 {
            return Err(CursorError);
        }
        let bytes = (0..raw.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(raw.get(i..i + 2).ok_or(CursorError)?, 16)
                    .map_err(|_| CursorError)
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let plain = String::from_utf8(bytes).map_err(|_| CursorError)?;
        let mut parts = plain.splitn(3, '\n');
        match (parts.next(), parts.next(), parts.next()) {
            // No NUL: the key and id go into SQL as text, which PostgreSQL
            // refuses to hold one.
            (Some(Self::VERSION), Some(key), Some(id))
                if !id.contains('\n') && !plain.contains('\0') =>
            {
                Ok(Self::new(key, id))
            }
            _ => Err(CursorError),
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Whether another page follows.
    pub has_next: bool,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `page_size + 1` fetched rows: the extra row only
    /// tells that a next page exists. `cursor_of` gives the cursor after a row.
    pub fn from_overfetch(
        mut rows: Vec<T>,
        page_size: u64,
        cursor_of: impl Fn(&T) -> Cursor,
    ) -> Self {
        let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
        let has_next = rows.len() > page_size;
        rows.truncate(page_size);
        let next_cursor = if has_next {
            rows.last().map(|row| cursor_of(row).encode())
        } else {
            None
        };
        Self {
            items: rows,
            has_next,
            next_cursor,
        }
    }

    /// Converts every item, keeping the page's shape.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::sort_by! {
        /// A test list's order.
        TestSort {
            /// The default.
            CreatedAt => "createdAt",
            /// By name.
            Name => "name",
        }
    }

    fn raw() -> RawPageRequest {
        RawPageRequest::default()
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let req = PageRequest::<TestSort>::parse(&raw()).unwrap();
        assert_eq!(req.position, PagePosition::Number(1));
        assert_eq!(req.page_size, 10);
        assert_eq!(req.sort_by, TestSort::CreatedAt);
        assert_eq!(req.direction, SortDirection::Desc);
        assert_eq!(req.search, None);
    }

    #[test]
    fn out_of_range_values_are_each_reported() {
        let bad = RawPageRequest {
            page: Some("0".into()),
            page_size: Some("101".into()),
            sort_by: Some("password".into()),
            sort_direction: Some("up".into()),
            ..raw()
        };
        let Err(DomainError::Validation(errors)) = PageRequest::<TestSort>::parse(&bad) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "pageSize", "sortBy", "sortDirection"]);
    }

    #[test]
    fn deep_pages_and_long_searches_are_refused() {
        for (raw, field) in [
            (
                RawPageRequest {
                    page: Some("100001".into()),
                    ..raw()
                },
                "page",
            ),
            (
                RawPageRequest {
                    page: Some("1000000000000000000".into()),
                    ..raw()
                },
                "page",
            ),
            (
                RawPageRequest {
                    search_query: Some("a".repeat(201)),
                    ..raw()
                },
                "searchQuery",
            ),
        ] {
            let Err(DomainError::Validation(errors)) = PageRequest::<TestSort>::parse(&raw) else {
                panic!("expected a validation error for {raw:?}");
            };
            assert_eq!(errors[0].field, field);
        }
        let deepest = RawPageRequest {
            page: Some("10000".into()),
            page_size: Some("100".into()),
            search_query: Some("é".repeat(200)),
            ..raw()
        };
        assert!(PageRequest::<TestSort>::parse(&deepest).is_ok());
    }

    #[test]
    fn page_and_cursor_together_are_refused() {
        let both = RawPageRequest {
            page: Some("2".into()),
            cursor: Some(Cursor::new("a", "b").encode()),
            ..raw()
        };
        assert!(PageRequest::<TestSort>::parse(&both).is_err());
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let cursor = Cursor::new("2024-01-01T00:00:00Z", "usr_01");
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["zz", "abc", "", "7631", "%%"] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad}");
        }
        let with_nul = Cursor::new("a\0b", "usr_01").encode();
        assert_eq!(Cursor::decode(&with_nul), Err(CursorError));
    }

    #[test]
    fn pages_deeper_than_the_bound_are_refused() {
        let page = |page: &str, size: &str| RawPageRequest {
            page: Some(page.into()),
            page_size: Some(size.into()),
            ..raw()
        };
        assert!(PageRequest::<TestSort>::parse(&page("10000", "100")).is_ok());
        for (p, size) in [
            ("10001", "100"),
            ("1000001", "1"),
            ("1000000000000000000", "10"),
        ] {
            let Err(DomainError::Validation(errors)) =
                PageRequest::<TestSort>::parse(&page(p, size))
            else {
                panic!("page {p} × {size} was accepted");
            };
            assert_eq!(errors[0].field, "page");
            assert_eq!(errors[0].code, "OUT_OF_RANGE");
        }
    }

    #[test]
    fn a_search_is_at_most_200_characters() {
        let search = |text: String| RawPageRequest {
            search_query: Some(text),
            ..raw()
        };
        assert!(PageRequest::<TestSort>::parse(&search("é".repeat(200))).is_ok());
        let Err(DomainError::Validation(errors)) =
            PageRequest::<TestSort>::parse(&search("a".repeat(201)))
        else {
            panic!("a long search was accepted");
        };
        assert_eq!(errors[0].field, "searchQuery");
        assert_eq!(errors[0].code, "TOO_LONG");
    }

    #[test]
    fn a_page_is_cut_from_an_overfetch() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| Cursor::new(n.to_string(), "x"));
        assert_eq!(page.items, [1, 2]);
        assert!(page.has_next);
        assert_eq!(page.next_cursor, Some(Cursor::new("2", "x").encode()));
        let last = Page::from_overfetch(vec![1], 2, |n| Cursor::new(n.to_string(), "x"));
        assert!(!last.has_next);
        assert_eq!(last.next_cursor, None);
    }
}
