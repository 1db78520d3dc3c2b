//! CEL source → the parsed-expression protobuf Envoy's RBAC filter evaluates
//! (`google.api.expr.v1alpha1.Expr`): Envoy does not parse CEL text itself in this position, so
//! sluice parses it (the `cel-parser` crate, which expands macros like `has()` and `exists()`
//! into comprehensions as the reference parser does) and sends the tree.

use cel_parser::ast::{EntryExpr, Expr as Ast, IdedExpr};
use cel_parser::reference::Val;
use envoy_types::pb::google::api::expr::v1alpha1::{
    Constant, Expr, constant::ConstantKind, expr, expr::create_struct,
};

/// Parses `source` into Envoy's form, every id raised by `offset` (to keep ids unique when
/// expressions are joined); the error is the parser's message.
pub fn parse(source: &str, offset: i64) -> Result<Expr, String> {
    // The ANTLR-generated parser panics on some malformed input (`lower` has checked the
    // expressions the same way, so this is a second line of defence).
    let ast = std::panic::catch_unwind(|| cel_parser::Parser::new().parse(source))
        .map_err(|_| "the CEL parser gave up on this expression".to_string())?
        .map_err(|e| e.to_string())?;
    Conv { offset }.expr(&ast)
}

struct Conv {
    offset: i64,
}

impl Conv {
    fn id(&self, id: u64) -> Result<i64, String> {
        i64::try_from(id)
            .ok()
            .and_then(|i| i.checked_add(self.offset))
            .ok_or_else(|| "expression too large".to_string())
    }

    fn expr(&self, e: &IdedExpr) -> Result<Expr, String> {
        let convert = |e: &IdedExpr| self.expr(e);
        let id = self.id(e.id)?;
        let kind = match &e.expr {
            Ast::Unspecified => return Err("empty expression".into()),
            Ast::Ident(name) => expr::ExprKind::IdentExpr(expr::Ident { name: name.clone() }),
            Ast::Literal(v) => expr::ExprKind::ConstExpr(constant(v)?),
            Ast::Select(s) => expr::ExprKind::SelectExpr(Box::new(expr::Select {
                operand: Some(Box::new(convert(&s.operand)?)),
                field: s.field.clone(),
                test_only: s.test,
            })),
            Ast::Call(c) => expr::ExprKind::CallExpr(Box::new(expr::Call {
                target: c
                    .target
                    .as_ref()
                    .map(|t| convert(t).map(Box::new))
                    .transpose()?,
                function: c.func_name.clone(),
                args: c.args.iter().map(convert).collect::<Result<_, _>>()?,
            })),
            Ast::List(l) => expr::ExprKind::ListExpr(expr::CreateList {
                elements: l.elements.iter().map(convert).collect::<Result<_, _>>()?,
                optional_indices: Vec::new(),
            }),
            Ast::Map(m) => expr::ExprKind::StructExpr(expr::CreateStruct {
                message_name: String::new(),
                entries: self.entries(&m.entries)?,
            }),
            Ast::Struct(s) => expr::ExprKind::StructExpr(expr::CreateStruct {
                message_name: s.type_name.clone(),
                entries: self.entries(&s.entries)?,
            }),
            Ast::Comprehension(c) => {
                if c.iter_var2.is_some() {
                    return Err("two-variable comprehensions are not supported by Envoy".into());
                }
                expr::ExprKind::ComprehensionExpr(Box::new(expr::Comprehension {
                    iter_var: c.iter_var.clone(),
                    iter_var2: c.iter_var2.clone().unwrap_or_default(),
                    iter_range: Some(Box::new(convert(&c.iter_range)?)),
                    accu_var: c.accu_var.clone(),
                    accu_init: Some(Box::new(convert(&c.accu_init)?)),
                    loop_condition: Some(Box::new(convert(&c.loop_cond)?)),
                    loop_step: Some(Box::new(convert(&c.loop_step)?)),
                    result: Some(Box::new(convert(&c.result)?)),
                }))
            }
        };
        Ok(Expr {
            id,
            expr_kind: Some(kind),
        })
    }

    fn entries(
        &self,
        list: &[cel_parser::ast::IdedEntryExpr],
    ) -> Result<Vec<create_struct::Entry>, String> {
        let convert = |e: &IdedExpr| self.expr(e);
        list.iter()
            .map(|e| {
                let id = self.id(e.id)?;
                let (key_kind, value, optional) = match &e.expr {
                    EntryExpr::StructField(f) => (
                        create_struct::entry::KeyKind::FieldKey(f.field.clone()),
                        convert(&f.value)?,
                        f.optional,
                    ),
                    EntryExpr::MapEntry(m) => (
                        create_struct::entry::KeyKind::MapKey(convert(&m.key)?),
                        convert(&m.value)?,
                        m.optional,
                    ),
                };
                Ok(create_struct::Entry {
                    id,
                    value: Some(value),
                    optional_entry: optional,
                    key_kind: Some(key_kind),
                })
            })
            .collect()
    }
}

fn constant(v: &Val) -> Result<Constant, String> {
    let kind = match v {
        Val::String(s) => ConstantKind::StringValue(s.clone()),
        Val::Boolean(b) => ConstantKind::BoolValue(*b),
        Val::Int(i) => ConstantKind::Int64Value(*i),
        Val::UInt(u) => ConstantKind::Uint64Value(*u),
        Val::Double(d) => ConstantKind::DoubleValue(*d),
        Val::Bytes(b) => ConstantKind::BytesValue(b.clone()),
        Val::Null => ConstantKind::NullValue(0),
    };
    Ok(Constant {
        constant_kind: Some(kind),
    })
}

/// The disjunction of several expressions (`a || b || …`), new ids from `next_id` on.
pub fn any_of(mut exprs: Vec<Expr>, mut next_id: i64) -> Option<Expr> {
    let first = if exprs.is_empty() {
        return None;
    } else {
        exprs.remove(0)
    };
    Some(exprs.into_iter().fold(first, |acc, e| {
        next_id += 1;
        Expr {
            id: next_id,
            expr_kind: Some(expr::ExprKind::CallExpr(Box::new(expr::Call {
                target: None,
                function: "_||_".into(),
                args: vec![acc, e],
            }))),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(e: &Expr) -> &expr::Call {
        match &e.expr_kind {
            Some(expr::ExprKind::CallExpr(c)) => c,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn header_comparison_parses_to_the_reference_tree() {
        let e = parse("request.headers['x-user'] == 'admin'", 0).unwrap();
        let eq = call(&e);
        assert_eq!(eq.function, "_==_");
        let index = call(&eq.args[0]);
        assert_eq!(index.function, "_[_]");
        match &index.args[0].expr_kind {
            Some(expr::ExprKind::SelectExpr(s)) => assert_eq!(s.field, "headers"),
            other => panic!("not a select: {other:?}"),
        }
        match &eq.args[1].expr_kind {
            Some(expr::ExprKind::ConstExpr(c)) => assert_eq!(
                c.constant_kind,
                Some(ConstantKind::StringValue("admin".into()))
            ),
            other => panic!("not a constant: {other:?}"),
        }
    }

    #[test]
    fn macros_expand_ids_shift_and_errors_say_where() {
        let has = parse("has(request.headers.x)", 0).unwrap();
        assert!(matches!(has.expr_kind, Some(expr::ExprKind::SelectExpr(ref s)) if s.test_only));
        let a = parse("true", 0).unwrap();
        let b = parse("false", 100).unwrap();
        assert_eq!((a.id, b.id), (1, 101));
        let or = any_of(vec![a, b], 1000).unwrap();
        assert_eq!((or.id, call(&or).function.as_str()), (1001, "_||_"));
        assert!(parse("request.headers[", 0).is_err());
    }
}
