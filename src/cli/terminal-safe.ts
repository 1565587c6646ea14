/**
 * Log strings are attacker-controlled. Before any of them reaches a terminal, control
 * characters (ESC sequences that move the cursor, rewrite the title, hide text; BEL; C1
 * controls; bidi overrides that reorder what the reader sees) are made visible as \xNN / \u{…}.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(s: string, keepNewlines = false): string {
  const out = s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
  return keepNewlines ? out : out.replace(/\n/g, '\\n').replace(/\t/g, ' ');
}
