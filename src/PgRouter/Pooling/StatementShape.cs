using System.Buffers.Binary;

namespace PgRouter.Pooling;

/// <summary>
/// A hash of what a statement returns (column names, types and type modifiers: what PostgreSQL
/// compares before it says "cached plan must not change result type"), so that a statement
/// prepared again on another server can be checked against what its client saw first.
/// </summary>
internal static class StatementShape
{
    public const int Unknown = 0;

    /// <summary>The statement returns no rows (NoData).</summary>
    public const int NoRows = 1;

    /// <summary>The shape described by a RowDescription body; Unknown when the body is malformed.</summary>
    public static int Of(ReadOnlySpan<byte> rowDescription)
    {
        if (rowDescription.Length < 2)
        {
            return Unknown;
        }
        var hash = new HashCode();
        int columns = BinaryPrimitives.ReadInt16BigEndian(rowDescription);
        hash.Add(columns);
        var rest = rowDescription[2..];
        for (int i = 0; i < columns; i++)
        {
            int nameEnd = rest.IndexOf((byte)0);
            // After the name: table oid (4), column number (2), type oid (4), type size (2), type modifier (4), format (2).
            if (nameEnd < 0 || rest.Length < nameEnd + 1 + 18)
            {
                return Unknown;
            }
            hash.AddBytes(rest[..nameEnd]);
            var field = rest[(nameEnd + 1)..];
            hash.Add(BinaryPrimitives.ReadInt32BigEndian(field[6..]));
            hash.Add(BinaryPrimitives.ReadInt32BigEndian(field[12..]));
            rest = field[18..];
        }
        int shape = hash.ToHashCode();
        return shape is Unknown or NoRows ? shape + 2 : shape;
    }
}
