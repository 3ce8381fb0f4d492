using PgRouter.Pooling;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class StatementShapeTests
{
    private record Column(string Name, int TableOid = 16384, short Number = 1, int TypeOid = 23, short Size = 4, int Modifier = -1, short Format = 0);

    private static byte[] RowDescription(params Column[] columns) => Messages.Concat(
        [Messages.Int16((short)columns.Length), .. columns.Select(c => Messages.Concat(Messages.CString(c.Name), Messages.Int32(c.TableOid),
            Messages.Int16(c.Number), Messages.Int32(c.TypeOid), Messages.Int16(c.Size), Messages.Int32(c.Modifier), Messages.Int16(c.Format)))]);

    private static readonly Column Id = new("id");
    private static readonly Column Name = new("name", Number: 2, TypeOid: 1043, Size: -1, Modifier: 68);

    [Fact]
    public void SameColumns_GiveTheSameShape_NeitherUnknownNorNoRows()
    {
        int shape = StatementShape.Of(RowDescription(Id, Name));

        Assert.Equal(shape, StatementShape.Of(RowDescription(Id, Name)));
        Assert.NotEqual(StatementShape.Unknown, shape);
        Assert.NotEqual(StatementShape.NoRows, shape);
        Assert.NotEqual(StatementShape.Unknown, StatementShape.Of(RowDescription()));
    }

    [Fact]
    public void ColumnNamesTypesModifiersAndCount_ChangeTheShape()
    {
        int shape = StatementShape.Of(RowDescription(Id, Name));

        Assert.NotEqual(shape, StatementShape.Of(RowDescription(Id with { Name = "ident" }, Name)));
        Assert.NotEqual(shape, StatementShape.Of(RowDescription(Id with { TypeOid = 20 }, Name)));
        Assert.NotEqual(shape, StatementShape.Of(RowDescription(Id, Name with { Modifier = 104 })));
        Assert.NotEqual(shape, StatementShape.Of(RowDescription(Id)));
        Assert.NotEqual(shape, StatementShape.Of(RowDescription(Name, Id)));
    }

    // PostgreSQL's "cached plan must not change result type" compares names, types and modifiers, not where columns come from.
    [Fact]
    public void TableColumnNumberSizeAndFormat_DoNotChangeTheShape()
    {
        int shape = StatementShape.Of(RowDescription(Id));

        Assert.Equal(shape, StatementShape.Of(RowDescription(Id with { TableOid = 0, Number = 0, Size = 8, Format = 1 })));
    }

    [Fact]
    public void MalformedBodies_AreUnknown()
    {
        byte[] body = RowDescription(Id, Name);

        Assert.Equal(StatementShape.Unknown, StatementShape.Of([]));
        Assert.Equal(StatementShape.Unknown, StatementShape.Of([0]));
        Assert.Equal(StatementShape.Unknown, StatementShape.Of(body[..^1]));
        Assert.Equal(StatementShape.Unknown, StatementShape.Of(Messages.Concat(Messages.Int16(1), "id"u8.ToArray())));
        Assert.Equal(StatementShape.Unknown, StatementShape.Of(Messages.Concat(Messages.Int16(3), body[2..])));
    }
}
