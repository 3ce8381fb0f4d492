import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Properties;

/** Runs one query through pgJDBC and prints the first row, columns joined by '|'. */
public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("user", args[1]);
        properties.setProperty("password", args[2]);
        // Server-side prepared statements from the first execution, as pooled deployments use them.
        properties.setProperty("prepareThreshold", "1");
        try (Connection connection = DriverManager.getConnection(args[0], properties);
             ResultSet row = connection.prepareStatement(args[3]).executeQuery()) {
            row.next();
            StringBuilder line = new StringBuilder();
            for (int i = 1; i <= row.getMetaData().getColumnCount(); i++) {
                line.append(i > 1 ? "|" : "").append(row.getString(i));
            }
            System.out.println(line);
        }
    }
}
