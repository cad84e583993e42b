/* exe -> A, B (in that DT_NEEDED order); A -> C; B -> C. */
#include "say.h"
int da(void);
int db(void);
int main(void) {
    say("main");
    say_kv("da+db", da() + db());
    return 5;
}
