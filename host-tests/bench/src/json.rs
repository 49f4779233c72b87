//! A small JSON reader for what `v8/time.mjs` prints (the runner has no JSON dependency).

use anyhow::{Context, Result, bail};

#[derive(Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(v) => Some(v),
            _ => None,
        }
    }
}

pub struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    pub fn parse(text: &str) -> Result<Json> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            bail!("trailing text at byte {}", p.i);
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// Skips white space and consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += hit as usize;
        hit
    }

    fn value(&mut self) -> Result<Json> {
        self.ws();
        let rest = &self.s[self.i..];
        for (word, v) in [("null", Json::Null), ("true", Json::Bool(true)), ("false", Json::Bool(false))] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(v);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => self.list(b']', |p| p.value()).map(Json::Arr),
            Some(b'{') => self
                .list(b'}', |p| {
                    p.ws();
                    let k = p.string()?;
                    if !p.eat(b':') {
                        bail!("expected : at byte {}", p.i);
                    }
                    Ok((k, p.value()?))
                })
                .map(Json::Obj),
            Some(_) => self.number(),
            None => bail!("unexpected end"),
        }
    }

    /// `open item (, item)* close`, the opening bracket at `i`.
    fn list<T>(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        self.i += 1;
        let mut v = Vec::new();
        if self.eat(close) {
            return Ok(v);
        }
        loop {
            v.push(item(self)?);
            if self.eat(close) {
                return Ok(v);
            }
            if !self.eat(b',') {
                bail!("expected , at byte {}", self.i);
            }
        }
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.s[start..self.i])?;
        Ok(Json::Num(t.parse().with_context(|| format!("not a JSON value at byte {start}"))?))
    }

    fn string(&mut self) -> Result<String> {
        if self.s.get(self.i) != Some(&b'"') {
            bail!("expected a string at byte {}", self.i);
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).context("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8(out)?),
                b'\\' => {
                    let e = *self.s.get(self.i).context("unterminated string")?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).context("bad \\u")?;
                            self.i += 4;
                            let code = u32::from_str_radix(std::str::from_utf8(hex)?, 16)?;
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        other => other as char,
                    };
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_rejects_broken_text() {
        assert!(Parser::parse("[1, 2").is_err());
        assert!(Parser::parse("[1] x").is_err());
        assert_eq!(
            Parser::parse(" { \"a\" : [ true , false ] } ").unwrap(),
            Json::Obj(vec![("a".into(), Json::Arr(vec![Json::Bool(true), Json::Bool(false)]))])
        );
    }
}
