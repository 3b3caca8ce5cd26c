//! The built-in demo agent: deterministic work with real tools, no network.
//!
//! It picks one tool from the message: `calculator` for arithmetic (`what is 2+3*4`),
//! `recall` for questions about earlier messages (`what did I say?`), otherwise
//! `word_counter`. Same input, same events, so tests and the load generator can check replies
//! exactly.

use serde_json::json;

use super::{Agent, AgentInput, BoxFuture, Step, StepSender};

/// The demo agent (`agent_name` = `demo`).
#[derive(Debug, Default, Clone)]
pub struct DemoAgent;

impl Agent for DemoAgent {
    fn name(&self) -> &str {
        "demo"
    }

    fn run(
        &self,
        input: AgentInput,
        steps: StepSender,
    ) -> BoxFuture<'static, Result<String, String>> {
        Box::pin(async move {
            let (tool, tool_input, thought) = choose_tool(&input);
            let send = |s: Step| {
                let steps = steps.clone();
                async move { steps.send(s).await.map_err(|_| "run cancelled".to_string()) }
            };
            send(Step::Thinking(thought)).await?;
            send(Step::ToolExecuting {
                tool_name: tool.into(),
                input: tool_input.clone(),
            })
            .await?;
            let (results, reply) = run_tool(tool, &input)?;
            send(Step::ToolCompleted {
                tool_name: tool.into(),
                results,
            })
            .await?;
            Ok(reply)
        })
    }
}

fn choose_tool(input: &AgentInput) -> (&'static str, serde_json::Value, String) {
    let lower = input.text.to_lowercase();
    if lower.contains("recall") || lower.contains("did i say") || lower.contains("earlier") {
        return (
            "recall",
            json!({"thread_id": input.thread_id}),
            "The user asks about earlier messages; I will look them up.".into(),
        );
    }
    if let Some(expr) = arithmetic_part(&input.text) {
        return (
            "calculator",
            json!({"expression": expr}),
            format!("This looks like arithmetic: {expr}"),
        );
    }
    (
        "word_counter",
        json!({"text": input.text}),
        "I will count the words of the message.".into(),
    )
}

fn run_tool(tool: &str, input: &AgentInput) -> Result<(serde_json::Value, String), String> {
    match tool {
        "calculator" => {
            let expr = arithmetic_part(&input.text).unwrap_or_default();
            match eval(&expr) {
                Ok(v) => Ok((
                    json!({"expression": expr, "value": v}),
                    format!("{expr} = {v}"),
                )),
                Err(e) => Ok((
                    json!({"expression": expr, "error": e}),
                    format!("I could not compute {expr}: {e}"),
                )),
            }
        }
        "recall" => {
            let count = input.history.len();
            let reply = match input.history.last() {
                None => "This is the first thing you said in this thread.".to_string(),
                Some(last) => {
                    format!("You said {count} earlier message(s); the last was: \"{last}\"")
                }
            };
            Ok((json!({"messages": input.history, "count": count}), reply))
        }
        _ => {
            let words = input.text.split_whitespace().count();
            let chars = input.text.chars().count();
            Ok((
                json!({"words": words, "characters": chars}),
                format!("Your message has {words} word(s) and {chars} character(s)."),
            ))
        }
    }
}

/// The longest run of arithmetic characters that contains an operator between digits.
fn arithmetic_part(text: &str) -> Option<String> {
    let mut best = String::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_digit() || "+-*/(). ".contains(c) {
            current.push(c);
        } else {
            let t = current.trim().to_string();
            if t.len() > best.len()
                && t.chars().any(|c| c.is_ascii_digit())
                && t.chars().any(|c| "+-*/".contains(c))
            {
                best = t;
            }
            current.clear();
        }
    }
    (!best.is_empty()).then_some(best)
}

/// Evaluates `+ - * /` and parentheses over f64, by recursive descent.
pub fn eval(expr: &str) -> Result<f64, String> {
    let tokens: Vec<char> = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let mut p = Parser { t: &tokens, i: 0 };
    let v = p.sum()?;
    if p.i != tokens.len() {
        return Err(format!("unexpected {:?}", tokens[p.i]));
    }
    if !v.is_finite() {
        return Err("division by zero".into());
    }
    Ok(v)
}

struct Parser<'a> {
    t: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.t.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.i += 1;
            let r = self.product()?;
            v = if op == '+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.atom()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.i += 1;
            let r = self.atom()?;
            v = if op == '*' { v * r } else { v / r };
        }
        Ok(v)
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some('-') => {
                self.i += 1;
                Ok(-self.atom()?)
            }
            Some('(') => {
                self.i += 1;
                let v = self.sum()?;
                if self.peek() != Some(')') {
                    return Err("missing )".into());
                }
                self.i += 1;
                Ok(v)
            }
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.i += 1;
                }
                let s: String = self.t[start..self.i].iter().collect();
                s.parse()
                    .map_err(|_| format!("expected a number at position {start}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str, history: &[&str]) -> AgentInput {
        AgentInput {
            user_id: "u".into(),
            thread_id: "t".into(),
            run_id: "r".into(),
            text: text.into(),
            history: history.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn calculator_respects_precedence_and_parentheses() {
        assert_eq!(eval("2+3*4"), Ok(14.0));
        assert_eq!(eval("(2+3)*4"), Ok(20.0));
        assert_eq!(eval("-3+10/4"), Ok(-0.5));
        assert_eq!(eval("1/0"), Err("division by zero".into()));
    }

    #[test]
    fn arithmetic_questions_use_the_calculator() {
        let i = input("what is 2+3*4?", &[]);
        assert_eq!(choose_tool(&i).0, "calculator");
        assert_eq!(run_tool("calculator", &i).unwrap().1, "2+3*4 = 14");
    }

    #[test]
    fn recall_quotes_the_last_earlier_message() {
        let i = input("what did I say?", &["hello there", "my name is Ada"]);
        assert_eq!(choose_tool(&i).0, "recall");
        assert_eq!(
            run_tool("recall", &i).unwrap().1,
            "You said 2 earlier message(s); the last was: \"my name is Ada\""
        );
    }

    #[test]
    fn other_messages_get_their_words_counted() {
        let i = input("hello brave new world", &[]);
        assert_eq!(choose_tool(&i).0, "word_counter");
        assert_eq!(
            run_tool("word_counter", &i).unwrap().1,
            "Your message has 4 word(s) and 21 character(s)."
        );
    }
}
