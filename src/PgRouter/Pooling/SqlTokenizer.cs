namespace PgRouter.Pooling;

internal enum SqlToken
{
    /// <summary>An unquoted identifier or keyword.</summary>
    Word,

    /// <summary>A quoted identifier ("…"), its quotes included.</summary>
    QuotedWord,

    /// <summary>A string, dollar-quoted or numeric literal, an operator, any other sign.</summary>
    Other,

    Dot,

    /// <summary>The end of a statement.</summary>
    Semicolon,
}

/// <summary>
/// Just enough of PostgreSQL's lexer to find statements and their words: white space and comments
/// (nested /* */ too) are skipped, and nothing inside a literal, a quoted identifier or a
/// dollar-quoted body counts. Works on the client's bytes without allocating.
/// </summary>
internal ref struct SqlTokenizer(ReadOnlySpan<byte> text)
{
    private readonly ReadOnlySpan<byte> _text = text;
    private int _position;

    /// <summary>Where the next token starts, after blanks; the end when none is left.</summary>
    public int Position
    {
        get
        {
            SkipBlanks();
            return _position;
        }
    }

    public bool Next(out SqlToken kind, out ReadOnlySpan<byte> token)
    {
        SkipBlanks();
        kind = SqlToken.Other;
        token = default;
        if (_position >= _text.Length)
        {
            return false;
        }
        int start = _position;
        byte c = _text[_position];
        if (IsWordStart(c))
        {
            while (_position < _text.Length && IsWordPart(_text[_position]))
            {
                _position++;
            }
            // E'…' and U&'…' strings: the prefix belongs to the literal.
            if (_position < _text.Length && _text[_position] == '\'' && _position - start == 1 && (c | 0x20) == 'e')
            {
                SkipQuoted((byte)'\'', backslashEscapes: true);
            }
            else
            {
                kind = SqlToken.Word;
            }
        }
        else if (c == '\'')
        {
            SkipQuoted((byte)'\'', backslashEscapes: false);
        }
        else if (c == '"')
        {
            SkipQuoted((byte)'"', backslashEscapes: false);
            kind = SqlToken.QuotedWord;
        }
        else if (c == '$' && DollarTagLength() is int tag and > 0)
        {
            var delimiter = _text.Slice(_position, tag);
            int close = _text[(_position + tag)..].IndexOf(delimiter);
            _position = close < 0 ? _text.Length : _position + tag + close + tag;
        }
        else
        {
            _position++;
            kind = c switch { (byte)';' => SqlToken.Semicolon, (byte)'.' => SqlToken.Dot, _ => SqlToken.Other };
        }
        token = _text[start.._position];
        return true;
    }

    private static bool IsWordStart(byte c) => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or >= 0x80;

    private static bool IsWordPart(byte c) => IsWordStart(c) || c is >= (byte)'0' and <= (byte)'9' or (byte)'$';

    /// <summary>$$ or $tag$ at the position: its length; 0 for anything else ($1 is a parameter).</summary>
    private readonly int DollarTagLength()
    {
        int i = _position + 1;
        if (i < _text.Length && IsWordStart(_text[i]))
        {
            while (i < _text.Length && IsWordPart(_text[i]) && _text[i] != '$')
            {
                i++;
            }
        }
        return i < _text.Length && _text[i] == '$' ? i + 1 - _position : 0;
    }

    private void SkipQuoted(byte quote, bool backslashEscapes)
    {
        _position++;
        while (_position < _text.Length)
        {
            byte c = _text[_position++];
            if (backslashEscapes && c == '\\')
            {
                _position++;
            }
            else if (c == quote)
            {
                if (_position < _text.Length && _text[_position] == quote)
                {
                    _position++;
                    continue;
                }
                return;
            }
        }
        _position = _text.Length;
    }

    private void SkipBlanks()
    {
        while (_position < _text.Length)
        {
            byte c = _text[_position];
            if (c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f' or (byte)'\v')
            {
                _position++;
            }
            else if (c == '-' && _position + 1 < _text.Length && _text[_position + 1] == '-')
            {
                int end = _text[_position..].IndexOf((byte)'\n');
                _position = end < 0 ? _text.Length : _position + end + 1;
            }
            else if (c == '/' && _position + 1 < _text.Length && _text[_position + 1] == '*')
            {
                SkipBlockComment();
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>PostgreSQL's block comments nest.</summary>
    private void SkipBlockComment()
    {
        int depth = 0;
        while (_position + 1 < _text.Length)
        {
            if (_text[_position] == '/' && _text[_position + 1] == '*')
            {
                depth++;
                _position += 2;
            }
            else if (_text[_position] == '*' && _text[_position + 1] == '/')
            {
                _position += 2;
                if (--depth == 0)
                {
                    return;
                }
            }
            else
            {
                _position++;
            }
        }
        _position = _text.Length;
    }
}
