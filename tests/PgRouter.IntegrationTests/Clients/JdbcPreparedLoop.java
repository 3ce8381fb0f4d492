import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * pgJDBC with prepareThreshold=1: named server-side statements from the first execution, reused
 * over and over by several connections at once, with a transaction every tenth round.
 * usage: JdbcPreparedLoop URL USER PASSWORD CONNECTIONS ITERATIONS; prints "ok SERVERS HOPPED".
 */
public class JdbcPreparedLoop {
    public static void main(String[] args) throws Exception {
        int connections = Integer.parseInt(args[3]);
        int iterations = Integer.parseInt(args[4]);
        List<Set<Integer>> seen = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int c = 0; c < connections; c++) {
            Set<Integer> pids = new HashSet<>();
            seen.add(pids);
            Thread thread = new Thread(() -> {
                try {
                    loop(args[0], args[1], args[2], iterations, pids);
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            failures.get(0).printStackTrace();
            System.exit(1);
        }
        Set<Integer> servers = new HashSet<>();
        int hopped = 0;
        for (Set<Integer> pids : seen) {
            servers.addAll(pids);
            hopped += pids.size() > 1 ? 1 : 0;
        }
        System.out.println("ok " + servers.size() + " " + hopped);
    }

    private static void loop(String url, String user, String password, int iterations, Set<Integer> pids) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        properties.setProperty("prepareThreshold", "1");
        try (Connection connection = DriverManager.getConnection(url, properties);
             PreparedStatement addOne = connection.prepareStatement("select ?::int + 1, pg_backend_pid()");
             PreparedStatement insert = connection.prepareStatement("insert into prepared_loop (n) values (?)")) {
            for (int i = 0; i < iterations; i++) {
                addOne.setInt(1, i);
                try (ResultSet row = addOne.executeQuery()) {
                    row.next();
                    if (row.getInt(1) != i + 1) {
                        throw new IllegalStateException("expected " + (i + 1) + ", got " + row.getInt(1));
                    }
                    pids.add(row.getInt(2));
                }
                if (i % 10 == 0) {
                    connection.setAutoCommit(false);
                    insert.setInt(1, i);
                    insert.executeUpdate();
                    connection.commit();
                    connection.setAutoCommit(true);
                }
            }
        }
    }
}
